// Section 6b, for the choice of make-before-break by default: what a client receives of a steady
// broadcast while its server shuts down (WaitForClientsClose). A surviving app server broadcasts a
// numbered message to every client every `everyMs`; each client records what it gets through
// GracefulConnection.on(). Per client, over the broadcasts sent while all clients were connected
// or moving: missed = never received, duplicates = received more than once. Three client kinds:
//   default        — break-before-make (GracefulConnection's defaults);
//   overlap        — make-before-break with messageKey returning undefined (the app gives no key);
//   overlap + key  — make-before-break with the broadcast's number as its key.
// Rounds as in exit-gap.ts: each round's fresh server is the next round's victim, and the
// broadcaster is always the newest server (a broadcast from any server reaches every client).
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { GracefulConnection } from "../../src/index.js";
import { overlap } from "../../src/overlap.js";
import { GracefulShutdownMode, Hub, MiniLoadBalancer, MiniServer, MiniService } from "../../src/testing/index.js";
import { percentile, pool, sleep, until } from "./util.js";

class Bench extends Hub {}

export type DupKind = "default" | "overlap" | "overlap + key";
export const DUP_KINDS: DupKind[] = ["default", "overlap", "overlap + key"];

export interface DupOptions {
  clients: number;
  rounds: number;
  /** Broadcast period, ms. */
  everyMs: number;
}

export interface DupResult {
  kind: DupKind;
  clients: number;
  rounds: number;
  /** Broadcasts sent in the measured window. */
  broadcasts: number;
  /** Over all clients and rounds. */
  missed: number;
  duplicates: number;
  /** Per client exit (clients × rounds): p50 and max. */
  missedPerExitP50: number;
  missedPerExitMax: number;
  duplicatesPerExitP50: number;
  duplicatesPerExitMax: number;
  /** Received out of order (a number below one already received), over all clients. */
  outOfOrder: number;
}

const TICK = "tick";

export async function exitDuplicates(kind: DupKind, o: DupOptions): Promise<DupResult> {
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  let round = 0;
  const start = () => MiniServer.start({ service, id: `dup-${round}`, hubs: { bench: Bench } });
  const servers: MiniServer[] = [await start()];
  const door = await MiniLoadBalancer.start({ servers: () => servers });
  const url = door.url("bench");
  const build = () => new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();
  const messageKey = kind === "overlap + key" ? (method: string, args: unknown[]) => (method === TICK ? String(args[0]) : undefined) : () => undefined;
  const got: Map<number, number>[] = [];
  const order: number[] = [];
  let outOfOrder = 0;
  const conns = Array.from({ length: o.clients }, (_, i) => {
    const conn = new GracefulConnection(build(), {
      logger: { log: () => {} },
      ...(kind === "default" ? {} : { overlap: overlap({ createConnection: build, messageKey }) }),
    });
    const seen = new Map<number, number>();
    got.push(seen);
    order.push(0);
    conn.on(TICK, (n: unknown) => {
      const seq = n as number;
      seen.set(seq, (seen.get(seq) ?? 0) + 1);
      if (seq < order[i]!) outOfOrder++;
      order[i] = Math.max(order[i]!, seq);
    });
    return conn;
  });
  await pool(conns, 10, (c) => c.start());

  let seq = 0;
  const ticker = setInterval(() => void servers[servers.length - 1]!.hubContext("bench").clients.all.send(TICK, ++seq), o.everyMs);
  await sleep(50);
  const first = seq + 1;
  let resumed = 0;
  for (const c of conns) c.events.on("resumed", (e) => void (e.reason === "exit" && resumed++));
  for (round = 1; round <= o.rounds; round++) {
    servers.push(await start());
    const victim = servers.shift()!;
    await victim.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 5_000 });
    await until(() => resumed >= round * o.clients, 5_000, 2);
    await sleep(20);
  }
  const last = seq;
  clearInterval(ticker);
  // What was sent last is still on its way.
  await sleep(100);
  await Promise.all(conns.map((c) => c.stop().catch(() => {})));
  await Promise.all(servers.map((s) => s.kill()));
  await door.stop();
  await service.stop();

  // Per client: missed and duplicated over the window, then spread over its exits.
  let missed = 0;
  let duplicates = 0;
  const perExitMissed: number[] = [];
  const perExitDup: number[] = [];
  for (const seen of got) {
    let m = 0;
    let d = 0;
    for (let s = first; s <= last; s++) {
      const n = seen.get(s) ?? 0;
      if (n === 0) m++;
      else d += n - 1;
    }
    missed += m;
    duplicates += d;
    perExitMissed.push(m / o.rounds);
    perExitDup.push(d / o.rounds);
  }
  return {
    kind,
    clients: o.clients,
    rounds: o.rounds,
    broadcasts: last - first + 1,
    missed,
    duplicates,
    missedPerExitP50: percentile(perExitMissed, 50),
    missedPerExitMax: Math.max(...perExitMissed),
    duplicatesPerExitP50: percentile(perExitDup, 50),
    duplicatesPerExitMax: Math.max(...perExitDup),
    outOfOrder,
  };
}
