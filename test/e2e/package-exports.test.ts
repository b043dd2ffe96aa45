// The published shape: both entries resolve through the exports map, as ESM and CJS,
// and the main entry pulls in nothing Node-only. Runs against dist/ (npm test builds first).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

const require = createRequire(import.meta.url);

it("exposes the SDK and the kit as ESM and CJS, with types on every condition", async () => {
  const esm = await import("signalr-graceful");
  const cjs = require("signalr-graceful");
  for (const m of [esm, cjs]) expect(typeof m.GracefulConnection).toBe("function");
  const kitEsm = await import("signalr-graceful/testing");
  const kitCjs = require("signalr-graceful/testing");
  for (const m of [kitEsm, kitCjs]) for (const name of ["MiniService", "MiniServer", "MiniLoadBalancer", "Hub", "GracefulShutdownMode"]) expect(m).toHaveProperty(name);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  expect(pkg.sideEffects).toBe(false);
  expect(pkg.peerDependencies["@microsoft/signalr"]).toBe(">=8 <11");
  const conditions = (o: any): any[] => (typeof o === "object" ? (o.default ? [o] : Object.values(o).flatMap(conditions)) : []);
  for (const leaf of conditions(pkg.exports["."]).concat(conditions(pkg.exports["./testing"]))) expect(leaf.types).toMatch(/\.d\.c?ts$/);
});

it("keeps Node-only modules and @microsoft/signalr out of the browser builds", () => {
  for (const file of ["dist/index.js", "dist/signalr-graceful.min.js", "dist/signalr-graceful.esm.min.js"]) {
    const code = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    expect(code, file).not.toMatch(/from\s*["'](node:|ws|jose|@msgpack)/);
    expect(code, file).not.toMatch(/require\(["'](node:|ws|jose)/);
    expect(code, file).not.toContain("HubConnectionBuilder.prototype");
  }
});

it("carries error texts in the npm builds and error codes in the minified ones (docs/client.md, 'Error codes')", async () => {
  const full = await import("signalr-graceful");
  const min = await import("signalr-graceful/browser-esm");
  expect(() => new full.GracefulConnection({} as never)).toThrow("GracefulConnection needs a HubConnection (missing start()).");
  expect(() => new min.GracefulConnection({} as never)).toThrow(/^SGE18 start$/);
  expect(new min.BufferFullError("chat", 10).message).toBe("SGE1 chat 10");
  expect(new min.BufferFullError("chat", 10).name).toBe("BufferFullError");
  for (const file of ["dist/signalr-graceful.min.js", "dist/signalr-graceful.esm.min.js"]) {
    const code = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
    expect(code, file).not.toContain("must be a");
    expect(code, file).not.toContain("it may have run");
  }
});
