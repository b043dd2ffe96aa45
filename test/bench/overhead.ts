// Section 2, overhead: round trips per second through GracefulConnection.invoke vs the bare
// HubConnection.invoke, same kit, same run, interleaved slices (A B, B A, ...) so that machine
// noise hits both alike. Two loads: one call at a time (latency-bound, where a wrapper's cost
// shows most) and 16 in flight. On a shared 2-core machine one pair's ratio moves by ±0.1–0.2:
// many short pairs (quick: 128 of 25 ms) pin the median to about ±0.01, where 8 long ones left
// it ±0.04 from run to run; the table gives the median's 95 % interval as well as p25–p75.
// Then the cost of the delivery guarantee: GracefulConnection.send (an invocation whose completion
// is the receipt, preceded by its delivery marker; the server's ledger de-duplicates) against what
// the SDK did before, HubConnection.send (fire-and-forget: resolves once written).
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { GracefulConnection } from "../../src/index.js";
import { DeliveryLedger, Hub, MiniServer, MiniService } from "../../src/testing/index.js";
import { median, medianInterval, percentile } from "./util.js";

class Bench extends Hub {
  echo(x: unknown) {
    return x;
  }
  post(_x: unknown) {
    posted++;
  }
}

/** Posts the hub has run: a fire-and-forget send counts once it ran, not once it was written. */
let posted = 0;

type Invoke = (n: number) => Promise<unknown>;

async function ratePerSecond(invoke: Invoke, inFlight: number, ms: number, ran?: () => number): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const before = ran?.() ?? 0;
  const lane = async () => {
    while (performance.now() < end) {
      await invoke(done);
      done++;
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  // Sends: the slice lasts until the hub ran all of them (a fire-and-forget send resolves on write).
  while (ran && ran() - before < done) await new Promise((r) => setTimeout(r, 1));
  return (done * 1000) / (performance.now() - t);
}

export interface OverheadResult {
  load: string;
  bareRps: number;
  gracefulRps: number;
  /** Median over adjacent pairs of graceful / bare: a ratio, comparable across machines. */
  ratio: number;
  ratioP25: number;
  ratioP75: number;
  /** Distribution-free 95 % confidence interval of the median ratio (order statistics). */
  ratioCi95: [number, number];
  rounds: number;
}

/**
 * `rounds` adjacent pairs of `sliceMs` slices for the invoke loads; `sendRounds` for the send loads,
 * whose slices last until the hub ran every fire-and-forget send (several times the slice).
 */
export async function overhead(o: { rounds: number; sendRounds: number; sliceMs: number }): Promise<OverheadResult[]> {
  const service = await MiniService.start();
  const server = await MiniServer.start({ service, hubs: { bench: Bench }, deliveries: new DeliveryLedger() });
  const build = () => new HubConnectionBuilder().withUrl(server.url("bench")).configureLogging(LogLevel.None).build();
  const bare = build();
  await bare.start();
  const graceful = new GracefulConnection(build(), { logger: { log: () => {} } });
  await graceful.start();
  const loads: Array<{ label: string; inFlight: number; rounds: number; contenders: [string, Invoke][]; ran?: () => number }> = [];
  for (const inFlight of [1, 16])
    loads.push({ label: inFlight === 1 ? "1 call at a time" : `${inFlight} calls in flight`, inFlight, rounds: o.rounds, contenders: [["bare", (n) => bare.invoke("Echo", n)], ["graceful", (n) => graceful.invoke("Echo", n)]] });
  for (const inFlight of [1, 16])
    loads.push({
      label: `send: receipt vs fire-and-forget, ${inFlight === 1 ? "1 at a time" : `${inFlight} in flight`}`,
      inFlight,
      rounds: o.sendRounds,
      contenders: [["bare", (n) => bare.send("Post", n)], ["graceful", (n) => graceful.send("Post", n)]],
      ran: () => posted,
    });
  const results: OverheadResult[] = [];
  for (const { label, inFlight, rounds, contenders, ran } of loads) {
    // Warm-up: JIT and socket buffers, not measured.
    for (const [, f] of contenders) await ratePerSecond(f, inFlight, Math.min(300, o.sliceMs), ran);
    // Many short adjacent pairs, the ratio taken within each pair: this machine's speed drifts
    // by 2x from one half-second to the next, so only neighbours are comparable.
    const rates: Record<string, number[]> = { bare: [], graceful: [] };
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? contenders : [...contenders].reverse();
      const pair: Record<string, number> = {};
      for (const [name, f] of order) rates[name]!.push((pair[name] = await ratePerSecond(f, inFlight, o.sliceMs, ran)));
      ratios.push(pair.graceful! / pair.bare!);
    }
    results.push({
      load: label,
      bareRps: median(rates.bare!),
      gracefulRps: median(rates.graceful!),
      ratio: median(ratios),
      ratioP25: percentile(ratios, 25),
      ratioP75: percentile(ratios, 75),
      ratioCi95: medianInterval(ratios),
      rounds,
    });
  }
  await graceful.stop();
  await bare.stop();
  await server.kill();
  await service.stop();
  return results;
}
