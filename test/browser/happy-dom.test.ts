// @vitest-environment happy-dom
// Loads the BUILT browser bundles (run `npm run build` first) the way a page would: the
// @microsoft/signalr UMD build, then the IIFE global build, both evaluated into the window.
import { readFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { FakeHubConnection } from "../unit/fake-hub-connection";

// happy-dom replaces the global URL, so paths come from node:path (vitest runs from the package root).
const root = `${resolve(process.cwd())}/`;
const iife = `${root}dist/signalr-graceful.min.js`;
const esm = `${root}dist/signalr-graceful.esm.min.js`;
const signalrUmd = `${root}node_modules/@microsoft/signalr/dist/browser/signalr.js`;

type Global = typeof globalThis & { signalR?: any; signalRGraceful?: any };
const win = window as unknown as Global;

beforeAll(() => {
  if (!existsSync(iife)) throw new Error(`${iife} is missing: run \`npm run build\` (or \`npx rollup -c\`) first.`);
  // Indirect eval = global scope, like a <script> tag.
  (0, win.eval)(readFileSync(signalrUmd, "utf8"));
  (0, win.eval)(readFileSync(iife, "utf8"));
});

describe("browser global build (IIFE)", () => {
  it("assigns window.signalRGraceful with the SDK's exports", () => {
    expect(typeof win.signalR?.HubConnectionBuilder).toBe("function");
    const g = win.signalRGraceful;
    expect(Object.keys(g).sort()).toEqual(expect.arrayContaining([
      "BufferFullError", "ConnectionStoppedError", "DEFAULT_EXIT_METHOD", "GracefulConnection", "HELLO_METHOD",
      "InvalidStateError", "InvocationInterruptedError", "defaultRetryPolicy",
    ]));
    expect(new g.BufferFullError("m", 1).name).toBe("BufferFullError"); // survives minification
  });

  it("drains and reconnects a fake connection on exit", async () => {
    const log: string[] = [];
    const hub = new FakeHubConnection(log);
    const conn = new win.signalRGraceful.GracefulConnection(hub, { logger: { log() {} } });
    conn.events.on("*", (type: string) => log.push(type));
    conn.onExit(async () => { log.push("onExit"); });
    await conn.start();
    hub.deliver("graceful.hello", { serverId: "A" });
    hub.deliver("exit", { serverId: "A" });
    await new Promise<void>((resolve) => conn.events.on("resumed", () => resolve()));
    expect(log).toEqual([
      "state", "hub.start", "state", "resumed", "server",
      "state", "exit", "draining", "onExit", "state", "hub.stop", "reconnecting", "hub.start", "reconnected", "state", "resumed",
    ]);
    expect(conn.state).toBe("Connected");
    await conn.stop();
  });
});

describe("minified ESM build", () => {
  it("exports the same API and works without @microsoft/signalr loaded as a module", async () => {
    const mod = await import(/* @vite-ignore */ pathToFileURL(esm).href);
    const conn = new mod.GracefulConnection(new FakeHubConnection(), { logger: { log() {} } });
    await conn.start();
    expect(conn.state).toBe("Connected");
    await conn.stop();
    expect(conn.state).toBe("Disconnected");
  });
});
