// Three builds: the SDK (browser + Node, ESM and CJS), the testing kit (Node only),
// and a minified browser global build that assigns `window.signalRGraceful`.
import typescript from "@rollup/plugin-typescript";
import resolve from "@rollup/plugin-node-resolve";
import terser from "@rollup/plugin-terser";
import { dts } from "rollup-plugin-dts";

// Never bundled: the SignalR client is a peer; the kit's Node dependencies stay imports.
const external = (id) =>
  id === "@microsoft/signalr" || id === "ws" || id === "jose" || id.startsWith("@msgpack/") || id.startsWith("node:");
const ts = () => typescript({ tsconfig: "./tsconfig.build.json", sourceMap: true });

export default [
  {
    input: { index: "src/index.ts", testing: "src/testing/index.ts" },
    external: (id) => external(id) || id === "mitt",
    plugins: [ts()],
    output: [
      { dir: "dist", format: "esm", entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", sourcemap: true },
      { dir: "dist", format: "cjs", entryFileNames: "[name].cjs", chunkFileNames: "chunks/[name]-[hash].cjs", sourcemap: true, exports: "named" },
    ],
  },
  {
    // Browser global build: mitt is bundled (≈200 B), @microsoft/signalr is read from window.signalR.
    input: "src/browser.ts",
    external: ["@microsoft/signalr"],
    plugins: [resolve({ browser: true }), ts()],
    output: [
      { file: "dist/signalr-graceful.min.js", format: "iife", globals: { "@microsoft/signalr": "signalR" }, plugins: [terser()], sourcemap: true },
      { file: "dist/signalr-graceful.esm.min.js", format: "esm", plugins: [terser()], sourcemap: true },
    ],
  },
  ...["index", "testing"].flatMap((name) => [
    { input: `src/${name === "index" ? "index" : "testing/index"}.ts`, external, plugins: [dts({ tsconfig: "./tsconfig.build.json" })], output: { file: `dist/${name}.d.ts`, format: "esm" } },
    { input: `src/${name === "index" ? "index" : "testing/index"}.ts`, external, plugins: [dts({ tsconfig: "./tsconfig.build.json" })], output: { file: `dist/${name}.d.cts`, format: "esm" } },
  ]),
];
