// Section 1, transitions: N clients on one app server, each sending a message every 100 ms;
// the server shuts down in a mode; a second server is there to take them. Three client kinds
// in turn, same kit, same run:
//   graceful — GracefulConnection (defaults, silent logger);
//   plain    — HubConnection withAutomaticReconnect([0, 1000, 2000, 5000]) that stops and
//              restarts itself when it hears "exit";
//   sample   — the official sample: stop 3 s after "exit", no restart.
// The hub records every arrival (client, seq, server, time) in memory. From that:
// lost = sends the app made that never arrived (rejected sends count: the app did not retry),
// duplicated, out of order; the gap = the longest time the server heard nothing from a client
// within the sending window (100 ms is the floor: one message per 100 ms), ∞ for a client that
// never reached the second server.
// "Kill" is the crash for comparison: the server dies with no FIN; a dead server runs nothing
// more, so whatever it held (received, not yet recorded) is lost as a real crash loses it.
import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { GracefulConnection } from "../../src/index.js";
import { overlap } from "../../src/overlap.js";
import { DeliveryLedger, GracefulShutdownMode, Hub, MiniServer, MiniService } from "../../src/testing/index.js";
import { MiniLoadBalancer } from "../../src/testing/index.js";
import { percentile, pool, sleep, until } from "./util.js";

export type Kind = "graceful" | "overlap" | "plain" | "sample";
/** A graceful-shutdown mode, or an abrupt kill. */
export type TransitionMode = GracefulShutdownMode | "Kill";
export const KINDS: Kind[] = ["graceful", "overlap", "plain", "sample"];

/**
 * The exit gap measured directly, per graceful client: from the old connection closing (Draining →
 * Reconnecting) to resumed on the new one, split into stop (old connection closed), start
 * (negotiate, connect, handshake) and resume (onResume + flush).
 */
export interface ExitGap { totalMs: number; stopMs: number; startMs: number; resumeMs: number }
const exitGaps: ExitGap[] = [];

interface Arrival {
  seq: number;
  at: number;
  server: string;
}
const arrivals = new Map<string, Arrival[]>();

class Bench extends Hub {
  record(client: string, seq: number) {
    let list = arrivals.get(client);
    if (!list) arrivals.set(client, (list = []));
    list.push({ seq, at: performance.now(), server: this.context.serverId });
  }
}

interface BenchClient {
  name: string;
  start(): Promise<void>;
  send(seq: number): Promise<void>;
  stop(): Promise<void>;
}

const silent = { log: () => {} };

function makeClient(kind: Kind, name: string, url: string): BenchClient {
  const build = (auto: boolean): HubConnection => {
    let b = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None);
    if (auto) b = b.withAutomaticReconnect([0, 1000, 2000, 5000]);
    return b.build();
  };
  if (kind === "graceful" || kind === "overlap") {
    const conn = new GracefulConnection(build(false), {
      logger: silent,
      ...(kind === "overlap" ? { overlap: overlap({ createConnection: () => build(false), messageKey: () => undefined }) } : {}),
    });
    let t: { down: number; stopped?: number; up?: number } | undefined;
    conn.events.on("state", ({ from, to }) => { if (from === "Draining" && to === "Reconnecting") t = { down: performance.now() }; });
    conn.events.on("reconnecting", (e) => { if (t && e.reason === "exit" && t.stopped === undefined) t.stopped = performance.now(); });
    conn.events.on("reconnected", (e) => { if (t && e.reason === "exit") t.up = performance.now(); });
    conn.events.on("resumed", (e) => {
      if (!t || e.reason !== "exit") return;
      const now = performance.now();
      // With overlap the old connection stays up until the new one resumed: no gap at all.
      exitGaps.push(e.handoff ? { totalMs: 0, stopMs: 0, startMs: 0, resumeMs: 0 } : { totalMs: now - t.down, stopMs: (t.stopped ?? now) - t.down, startMs: (t.up ?? now) - (t.stopped ?? now), resumeMs: now - (t.up ?? now) });
      t = undefined;
    });
    return { name, start: () => conn.start(), send: (seq) => conn.send("Record", name, seq), stop: () => conn.stop() };
  }
  const hub = build(kind === "plain");
  let stopped = false;
  if (kind === "plain") {
    hub.on("exit", () => {
      void (async () => {
        await hub.stop();
        for (let i = 0; i < 10 && !stopped; i++) {
          try {
            await hub.start();
            return;
          } catch {
            await sleep(1000);
          }
        }
      })();
    });
  } else {
    hub.on("exit", () => void setTimeout(() => void hub.stop(), 3000));
  }
  return {
    name,
    start: () => hub.start(),
    send: (seq) => hub.send("Record", name, seq),
    stop: async () => {
      stopped = true;
      await hub.stop();
    },
  };
}

export interface TransitionOptions {
  clients: number;
  /** Sending before the shutdown starts. */
  preMs: number;
  /** Sending window from the start of the shutdown. */
  postMs: number;
  shutdownTimeoutMs: number;
}

export interface TransitionResult {
  mode: string;
  kind: Kind;
  clients: number;
  sent: number;
  lost: number;
  lostPct: number;
  duplicated: number;
  outOfOrder: number;
  gapP50Ms: number;
  gapP99Ms: number;
  gapMaxMs: number;
  /** From the start of the shutdown until the last client's first message reached another server. */
  allBackMs: number | null;
  neverBack: number;
  shutdownMs: number;
  dropped: number;
  /** Graceful clients: the exit gap measured directly (see ExitGap), p50/p99 over the clients, ms. */
  exitGap?: { clients: number; p50: number; p99: number; max: number; stopP50: number; startP50: number; resumeP50: number };
}

export async function transition(kind: Kind, mode: TransitionMode, o: TransitionOptions): Promise<TransitionResult> {
  arrivals.clear();
  exitGaps.length = 0;
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  const servers: MiniServer[] = [];
  const deliveries = new DeliveryLedger();
  const a = await MiniServer.start({ service, id: "server-a", hubs: { bench: Bench }, deliveries });
  servers.push(a);
  const door = await MiniLoadBalancer.start({ servers: () => servers });
  const clients = Array.from({ length: o.clients }, (_, i) => makeClient(kind, `c${i}`, door.url("bench")));
  await pool(clients, 10, (c) => c.start());
  servers.push(await MiniServer.start({ service, id: "server-b", hubs: { bench: Bench }, deliveries }));

  const sent = new Map<string, number>();
  const timers: NodeJS.Timeout[] = [];
  const settling = new Set<Promise<unknown>>();
  const windowStart = performance.now();
  clients.forEach((c, i) => {
    sent.set(c.name, 0);
    // Staggered so that the 100 ms ticks of N clients spread evenly.
    timers.push(
      setTimeout(() => {
        const tick = () => {
          const seq = sent.get(c.name)! + 1;
          sent.set(c.name, seq);
          const p = c.send(seq).catch(() => {});
          settling.add(p);
          void p.finally(() => settling.delete(p));
        };
        tick();
        timers.push(setInterval(tick, 100));
      }, (i * 100) / o.clients),
    );
  });
  await sleep(o.preMs);
  const t0 = performance.now();
  const report =
    mode === "Kill"
      ? await (async () => {
          const dropped = a.connectionCount;
          await a.kill();
          return { durationMs: performance.now() - t0, dropped };
        })()
      : await a.shutdown({ mode, timeoutMs: o.shutdownTimeoutMs });
  const left = o.postMs - (performance.now() - t0);
  if (left > 0) await sleep(left);
  timers.forEach((t) => (clearTimeout(t), clearInterval(t)));
  const windowEnd = performance.now();
  // Buffered sends flush once their client is back; give them a bounded moment.
  await until(() => settling.size === 0, 3_000);
  await sleep(100);

  const gaps: number[] = [];
  const backAt: number[] = [];
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  let total = 0;
  for (const c of clients) {
    const list = arrivals.get(c.name) ?? [];
    const n = sent.get(c.name)!;
    total += n;
    const unique = new Set(list.map((x) => x.seq));
    lost += n - unique.size;
    duplicated += list.length - unique.size;
    let max = 0;
    for (const x of list) {
      if (x.seq < max) outOfOrder++;
      max = Math.max(max, x.seq);
    }
    const times = [windowStart, ...list.map((x) => x.at).filter((t) => t <= windowEnd), windowEnd].sort((x, y) => x - y);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    const back = list.find((x) => x.at >= t0 && x.server !== "server-a");
    if (back) backAt.push(back.at - t0);
    // A client that never came back has an unbounded gap, whatever the window's length.
    gaps.push(back ? gap : Infinity);
  }

  await Promise.all(clients.map((c) => c.stop().catch(() => {})));
  await Promise.all(servers.map((s) => s.kill()));
  await service.stop();
  await door.stop();

  const neverBack = clients.length - backAt.length;
  const col = (k: keyof ExitGap) => exitGaps.map((g) => g[k]);
  const exitGap = exitGaps.length
    ? { clients: exitGaps.length, p50: percentile(col("totalMs"), 50), p99: percentile(col("totalMs"), 99), max: Math.max(...col("totalMs")), stopP50: percentile(col("stopMs"), 50), startP50: percentile(col("startMs"), 50), resumeP50: percentile(col("resumeMs"), 50) }
    : undefined;
  return {
    ...(exitGap ? { exitGap } : {}),
    mode: mode === "Kill" ? "Kill" : GracefulShutdownMode[mode],
    kind,
    clients: clients.length,
    sent: total,
    lost,
    lostPct: total ? (100 * lost) / total : 0,
    duplicated,
    outOfOrder,
    gapP50Ms: percentile(gaps, 50),
    gapP99Ms: percentile(gaps, 99),
    gapMaxMs: Math.max(...gaps),
    allBackMs: neverBack === 0 ? Math.max(...backAt) : null,
    neverBack,
    shutdownMs: report.durationMs,
    dropped: report.dropped,
  };
}
