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
const overlapIife = `${root}dist/signalr-graceful-overlap.min.js`;
const signalrUmd = `${root}node_modules/@microsoft/signalr/dist/browser/signalr.js`;

type Global = typeof globalThis & { signalR?: any; signalRGraceful?: any; signalRGracefulOverlap?: any };
const win = window as unknown as Global;

beforeAll(() => {
  if (!existsSync(iife)) throw new Error(`${iife} is missing: run \`npm run build\` (or \`npx rollup -c\`) first.`);
  // Indirect eval = global scope, like a <script> tag.
  (0, win.eval)(readFileSync(signalrUmd, "utf8"));
  (0, win.eval)(readFileSync(iife, "utf8"));
  (0, win.eval)(readFileSync(overlapIife, "utf8")); // a second script tag, after the main one
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

describe("overlap global build (IIFE), with the main one", () => {
  // Two bundles minified apart, each renaming its own private names: this is where a name that
  // crosses the seam between them (Handoff/HandoffHost) would break, and only here.
  it("hands an exit over to a new connection before the old one stops, and drops the keyed copy", async () => {
    const log: string[] = [];
    const hub = new FakeHubConnection(log);
    const created: FakeHubConnection[] = [];
    const conn = new win.signalRGraceful.GracefulConnection(hub, {
      logger: { log() {} },
      overlap: win.signalRGracefulOverlap.overlap({
        createConnection: () => {
          const next = new FakeHubConnection(log, { label: "hub2", firstConnection: 20 });
          created.push(next);
          return next;
        },
        messageKey: (_method: string, args: unknown[]) => String(args[0]),
      }),
    });
    conn.on("message", (id: number) => log.push(`app ${id}`));
    conn.events.on("resumed", (e: { handoff?: boolean }) => log.push(`resumed${e.handoff ? " handoff" : ""}`));
    await conn.start();
    hub.deliver("graceful.hello", { serverId: "A" });
    const handedOver = new Promise<void>((resolve) => conn.events.on("resumed", (e: { handoff?: boolean }) => e.handoff && resolve()));
    hub.deliver("exit", { serverId: "A" });
    await handedOver;
    const hub2 = created[0]!;
    hub.deliver("message", 7); // the old connection, still open for the overlap window
    hub2.deliver("message", 7); // the same message on the new one: dropped
    hub2.deliver("message", 8);
    expect(log.filter((l) => l.startsWith("app") || l.startsWith("resumed") || l.endsWith(".start"))).toEqual([
      "hub.start", "resumed", "hub2.start", "resumed handoff", "app 7", "app 8",
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
