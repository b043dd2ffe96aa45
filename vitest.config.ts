import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// SDK_BUILD=min: the SDK's unit tests run against the minified browser build (error codes instead
// of texts, private members renamed) instead of src/index.ts — `npm run test:min` (build first).
const sdkBuild = process.env.SDK_BUILD === "min"
  ? [{ find: /^(\.\.\/)+src\/index$/, replacement: fileURLToPath(new URL("./dist/signalr-graceful.esm.min.js", import.meta.url)) }]
  : [];

export default defineConfig({
  resolve: { alias: sdkBuild },
  test: {
    include: ["test/**/*.test.ts"],
    // Expected warnings and errors (a dropped connection, a refused call) are shown only for
    // a failing test; TEST_LOGS=1 shows them all. See test/setup/quiet-console.ts.
    setupFiles: ["test/setup/quiet-console.ts"],
    // The C# test projects, built once before any test file runs (see the file).
    globalSetup: ["test/setup/dotnet-build.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: "forks",
  },
});
