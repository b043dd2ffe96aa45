// Section 3, the kit against the limit. Raw `ws` clients throughout: the real
// @microsoft/signalr client costs more per message and per connection than the kit itself,
// and would be what we measured.
//   echo      — invocations/s through client → service → app server → service → client, vs a
//               bare `ws` relay doing the same two hops (relay process-less: two ws servers,
//               one shared link between them, routing by a client index prefix). Ratio.
//   broadcast — one all-clients send from the app server; time until the LAST client has it.
//   migrate   — N connections moved by one MigrateClients shutdown; total time.
// Clients, service and app server share this process (and its 2 cores): absolute numbers are
// pessimistic; the ratio is the figure to compare.
import { WebSocketServer, WebSocket } from "ws";
import type { AddressInfo } from "node:net";
import { GracefulShutdownMode, Hub, MiniServer, MiniService } from "../../src/testing/index.js";
import { RS, closeAll, connectMany, type RawHubClient } from "./raw-clients.js";
import { median, percentile, until } from "./util.js";

class Bench extends Hub {
  echo(x: unknown) {
    return x;
  }
}

const PAYLOAD = "x".repeat(32);
const record = (id: number) => `{"type":1,"invocationId":"${id}","target":"Echo","arguments":["${PAYLOAD}"]}${RS}`;

/** Each client keeps `window` messages in flight for `ms`; returns echoes per second. */
async function pump(clients: { send(t: string): void; onEcho(cb: () => void): void }[], window: number, ms: number): Promise<number> {
  let done = 0;
  let open = true;
  let id = 0;
  for (const c of clients) {
    c.onEcho(() => {
      done++;
      if (open) c.send(record(++id));
    });
    for (let i = 0; i < window; i++) c.send(record(++id));
  }
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  open = false;
  const rate = (done * 1000) / (performance.now() - t);
  await new Promise((r) => setTimeout(r, 100)); // let the last ones drain before the next run
  return rate;
}

async function relay(): Promise<{ url: string; close(): Promise<void> }> {
  // The "app": echoes every message on its one link.
  const app = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  app.on("connection", (ws) => ws.on("message", (d: Buffer) => ws.send(d)));
  await new Promise((r) => app.once("listening", r));
  // The "service": clients in, one shared link to the app, routed back by index.
  const front = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: false });
  await new Promise((r) => front.once("listening", r));
  const link = new WebSocket(`ws://127.0.0.1:${(app.address() as AddressInfo).port}`, { perMessageDeflate: false });
  await new Promise((r) => link.once("open", r));
  const byIndex: WebSocket[] = [];
  link.on("message", (d: Buffer) => {
    const i = d.readUInt32BE(0);
    byIndex[i]?.send(d.subarray(4).toString());
  });
  front.on("connection", (ws) => {
    const i = byIndex.push(ws) - 1;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(i);
    ws.on("message", (d: Buffer) => link.send(Buffer.concat([head, d])));
  });
  return {
    url: `ws://127.0.0.1:${(front.address() as AddressInfo).port}`,
    close: async () => {
      link.terminate();
      for (const s of [front, app]) {
        for (const c of s.clients) c.terminate();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

export interface EchoResult {
  clients: number;
  window: number;
  kitPerSec: number;
  relayPerSec: number;
  /** Median over adjacent pairs of kit / relay (a ratio). */
  ratio: number;
  ratioP25: number;
  ratioP75: number;
}

export async function echoVsRelay(o: { clients: number; window: number; rounds: number; sliceMs: number }): Promise<EchoResult> {
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  const server = await MiniServer.start({ service, hubs: { bench: Bench } });
  const { clients: kitClients } = await connectMany(service.endpoint, service.accessKey, "bench", o.clients);
  const kit = kitClients.map((c: RawHubClient) => ({
    send: (t: string) => c.ws.send(t),
    onEcho: (cb: () => void) => {
      c.onText = (text) => {
        for (const r of text.split(RS)) if (r.startsWith('{"type":3')) cb();
      };
    },
  }));
  const r = await relay();
  const relayClients = await Promise.all(
    Array.from({ length: o.clients }, async () => {
      const ws = new WebSocket(r.url, { perMessageDeflate: false });
      await new Promise((res) => ws.once("open", res));
      let cb = () => {};
      ws.on("message", () => cb());
      return { ws, send: (t: string) => ws.send(t), onEcho: (f: () => void) => void (cb = f) };
    }),
  );
  const rates = { kit: [] as number[], relay: [] as number[] };
  const ratios: number[] = [];
  await pump(kit, o.window, 300); // warm-up
  await pump(relayClients, o.window, 300);
  for (let i = 0; i < o.rounds; i++) {
    const order: ["kit" | "relay", typeof kit][] = i % 2 === 0 ? [["kit", kit], ["relay", relayClients]] : [["relay", relayClients], ["kit", kit]];
    const pair = { kit: 0, relay: 0 };
    for (const [name, cs] of order) rates[name].push((pair[name] = await pump(cs, o.window, o.sliceMs)));
    ratios.push(pair.kit / pair.relay); // within a pair: the machine's speed drifts between pairs
  }
  closeAll(kitClients);
  relayClients.forEach((c) => c.ws.terminate());
  await r.close();
  await server.kill();
  await service.stop();
  const kitPerSec = median(rates.kit);
  const relayPerSec = median(rates.relay);
  return { clients: o.clients, window: o.window, kitPerSec, relayPerSec, ratio: median(ratios), ratioP25: percentile(ratios, 25), ratioP75: percentile(ratios, 75) };
}

export interface BroadcastResult {
  clients: number;
  connected: number;
  repeats: number;
  lastP50Ms: number;
  lastP99Ms: number;
  lastMaxMs: number;
  /** Median over repeats of the time until half the clients had it. */
  halfP50Ms: number;
  error?: string;
}

export async function broadcast(o: { clients: number; repeats: number }): Promise<BroadcastResult> {
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  const server = await MiniServer.start({ service, hubs: { bench: Bench } });
  const { clients, error } = await connectMany(service.endpoint, service.accessKey, "bench", o.clients);
  let round = -1;
  let got = 0;
  let half = 0;
  let last = 0;
  for (const c of clients)
    c.onText = (text) => {
      if (!text.includes(`"target":"tick","arguments":[${round}]`)) return;
      got++;
      last = performance.now();
      if (got === Math.ceil(clients.length / 2)) half = last;
    };
  const lasts: number[] = [];
  const halves: number[] = [];
  const ctx = server.hubContext("bench");
  for (let i = 0; i < o.repeats + 1; i++) {
    round = i;
    got = 0;
    const t0 = performance.now();
    await ctx.clients.all.send("tick", i);
    const ok = await until(() => got === clients.length, 10_000, 1);
    // Repeat 0 warms up and is not counted; a repeat that never completes counts as its timeout.
    if (i > 0) {
      lasts.push(ok ? last - t0 : Infinity);
      halves.push(half - t0);
    }
  }
  closeAll(clients);
  await server.kill();
  await service.stop();
  return {
    clients: o.clients,
    connected: clients.length,
    repeats: o.repeats,
    lastP50Ms: percentile(lasts, 50),
    lastP99Ms: percentile(lasts, 99),
    lastMaxMs: Math.max(...lasts),
    halfP50Ms: median(halves),
    ...(error ? { error } : {}),
  };
}

export interface MigrateResult {
  clients: number;
  connected: number;
  migrated: number;
  dropped: number;
  shutdownMs: number;
  /** Until every client received its hello from the new server. */
  allHelloMs: number | null;
  error?: string;
}

export async function migrateMany(o: { clients: number }): Promise<MigrateResult> {
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  // The raw clients stand for SDK clients here: greet them all (they do not mark graceful=1).
  const a = await MiniServer.start({ service, id: "server-a", hubs: { bench: Bench }, hello: "always" });
  const { clients, error } = await connectMany(service.endpoint, service.accessKey, "bench", o.clients);
  const b = await MiniServer.start({ service, id: "server-b", hubs: { bench: Bench }, hello: "always" });
  let hellos = 0;
  let lastHello = 0;
  for (const c of clients)
    c.onText = (text) => {
      if (text.includes('"migratedFrom":"server-a"')) (hellos++, (lastHello = performance.now()));
    };
  const t0 = performance.now();
  const report = await a.shutdown({ mode: GracefulShutdownMode.MigrateClients, timeoutMs: 60_000 });
  const all = await until(() => hellos === clients.length, 10_000);
  closeAll(clients);
  await b.kill();
  await service.stop();
  return {
    clients: o.clients,
    connected: clients.length,
    migrated: report.migrated,
    dropped: report.dropped,
    shutdownMs: report.durationMs,
    allHelloMs: all ? lastHello - t0 : null,
    ...(error ? { error } : {}),
  };
}
