import { defineConfig } from "vitest/config";

export default defineConfig({
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
