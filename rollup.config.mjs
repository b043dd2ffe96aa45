// The SDK (browser + Node, ESM and CJS) with its optional overlap handoff as a second entry, the
// testing kit (Node only), and minified browser builds: globals (`window.signalRGraceful`,
// `window.signalRGracefulOverlap`) and ESM, one file per entry point so each is sized on its own.
import typescript from "@rollup/plugin-typescript";
import resolve from "@rollup/plugin-node-resolve";
import terser from "@rollup/plugin-terser";
import { dts } from "rollup-plugin-dts";

// Never bundled: the SignalR client is a peer; the kit's Node dependencies stay imports.
const external = (id) =>
  id === "@microsoft/signalr" || id === "ws" || id === "jose" || id.startsWith("@msgpack/") || id.startsWith("node:");
// Minified browser builds: modern output (the SDK targets ES2022 browsers), more compress passes.
// Private members of the SDK's classes are renamed too (they are most of what is left besides
// code): only the names listed here, each private to one bundle. Never a name that crosses a bundle
// or a seam (HandoffHost/Handoff, ILogger.log, HubConnection's members) or a built-in (call, add…):
// test/unit/mangle-list.test.ts fails on a name the published types declare or the source also uses
// as a string (a key looked up by its text), `npm run test:min` runs the SDK's unit tests against the
// minified build, and test/browser/happy-dom.test.ts runs both global builds together. `builtins`:
// names that are also DOM properties (`open`, `pending`, `finish`…) are renamed too (−47 B gzipped);
// nothing here reads them off a DOM object.
const PRIVATE = [
  "appHandlers", "eachApp", "gotClose", "gotExit", "gotHello", "gotReconnected", "gotReconnecting", "hasLeft", "isAccepted", "isCurrent",
  "forget", "hello", "lastKnown", "refused", "resuming", "servers", "wiring", "wiringHost",
  "_serverId", "phase", "arm", "awaitMigration", "barriers", "connectFirst", "connectionDown", "connectionUp", "considerExit",
  "current", "deferred", "detachers", "dispatch", "done", "exitHandlers", "fail", "finish", "flight", "flow", "forgetConnection",
  "gen", "go", "handoffHost", "idleWaiters", "interrupt", "knownStops", "lastConnectionId", "lastMigration", "lastServerId",
  "lastStop", "leave", "leftServers", "liveHubs", "markBarrier", "migrationWait", "newFlow", "nextN", "onExitMessage",
  "onHelloMessage", "onHubClose", "onHubReconnected", "onHubReconnecting", "openUntil", "opts", "outbox", "prune", "pump",
  "queue", "reconnectLoop", "refusal", "refuse", "register", "rejectEverything", "reportingError", "resumeHandlers",
  "retiring", "retryDelay", "seen", "sendsHeld", "seq", "serverRefused", "startMigrationResume", "startWaiter", "stopHub",
  "stopInternal", "stopPromise", "stopQuietly", "supersede", "sweep", "timerAt", "timers", "unusableSince", "usable", "userHandlers",
  "settledUpTo", "settledAbove", "settledN",
  // Internal only (never a public field, option, payload key or a name of the overlap seam):
  "settled", "interruptions", "graceTimer", "barrier", "deadline", "lastReason", "queue", "ctx",
  "onUndelivered", "onRetry", "onPolicyError", "onHandlerError", "onAttempt", "onFailure",
  "whenIdle", "pending", "fired", "rejectAll", "holdSends", "interrupted", "cancelAll", "hold", "open",
  "policy", "wait", "connect", "handlers", "payload", "timer", "retries", "migration",
];
const TERSER = {
  ecma: 2020,
  compress: { passes: 3 },
  mangle: { properties: { regex: new RegExp(`^(${PRIVATE.join("|")})$`), builtins: true } },
  format: { comments: false },
};
// Minified builds carry error codes instead of texts (src/client/text.ts says how): this swaps the
// module's DEV constant for false, and rollup drops every full text with its branch.
const codesOnly = () => ({
  name: "codes-only",
  transform(code, id) {
    if (!/[\\/]src[\\/]client[\\/]text\.ts$/.test(id)) return null;
    const out = code.replace(/export const DEV(: boolean)? = true;/, "export const DEV = false;");
    if (out === code) this.error("src/client/text.ts: `export const DEV = true;` not found");
    return { code: out, map: null };
  },
});
// Type checking is `npm run typecheck`'s job (tsc over src and test); here we only transpile.
const ts = () => typescript({ tsconfig: "./tsconfig.build.json", sourceMap: true, noCheck: true });
// The minified builds assign class fields in the constructor instead of defining them: a field
// without an initializer then costs no bytes (71 B gzipped in the main entry). No SDK class relies on
// define semantics (no field shadows an inherited accessor); `npm run test:min` runs the SDK's unit
// tests against this output.
const tsMin = () => typescript({ tsconfig: "./tsconfig.build.json", sourceMap: true, noCheck: true, useDefineForClassFields: false });

export default [
  {
    input: { index: "src/index.ts", overlap: "src/overlap.ts", testing: "src/testing/index.ts", cli: "src/cli/main.ts" },
    external: (id) => external(id) || id === "mitt",
    plugins: [ts()],
    output: [
      { dir: "dist", format: "esm", entryFileNames: "[name].js", chunkFileNames: "chunks/[name]-[hash].js", sourcemap: true },
      { dir: "dist", format: "cjs", entryFileNames: "[name].cjs", chunkFileNames: "chunks/[name]-[hash].cjs", sourcemap: true, exports: "named" },
    ],
  },
  {
    // Browser global build: mitt is bundled (≈200 B); the SDK has no runtime import of @microsoft/signalr
    // (users build their HubConnection from window.signalR themselves). browser.ts only assigns the global.
    input: "src/browser.ts",
    external: ["@microsoft/signalr"],
    plugins: [resolve({ browser: true }), tsMin(), codesOnly()],
    output: { file: "dist/signalr-graceful.min.js", format: "iife", globals: { "@microsoft/signalr": "signalR" }, plugins: [terser(TERSER)], sourcemap: true },
  },
  {
    // Minified ESM for browsers without a bundler (import map / CDN): the main entry, mitt bundled.
    input: "src/index.ts",
    external: ["@microsoft/signalr"],
    plugins: [resolve({ browser: true }), tsMin(), codesOnly()],
    output: { file: "dist/signalr-graceful.esm.min.js", format: "esm", plugins: [terser(TERSER)], sourcemap: true },
  },
  {
    // The overlap handoff's browser global: loaded after the main one (script tags), it only adds
    // `window.signalRGracefulOverlap`; what it shares with the main entry (a few helpers) is repeated.
    input: "src/browser-overlap.ts",
    plugins: [resolve({ browser: true }), tsMin(), codesOnly()],
    output: { file: "dist/signalr-graceful-overlap.min.js", format: "iife", plugins: [terser(TERSER)], sourcemap: true },
  },
  {
    // Type declarations for the entries, once, in ESM and CJS flavours.
    input: { index: "src/index.ts", overlap: "src/overlap.ts", testing: "src/testing/index.ts" },
    external,
    plugins: [dts({ tsconfig: "./tsconfig.build.json" })],
    output: [
      { dir: "dist", format: "esm", entryFileNames: "[name].d.ts", chunkFileNames: "chunks/[name]-[hash].d.ts" },
      { dir: "dist", format: "esm", entryFileNames: "[name].d.cts", chunkFileNames: "chunks/[name]-[hash].d.cts" },
    ],
  },
];
