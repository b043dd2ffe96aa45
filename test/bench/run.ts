// `npm run bench [-- options]`: the five benchmark sections in one run on one machine. Prints
// tables and writes the same figures to bench-results/bench.json. No figure is asserted: a slow
// machine gives slow figures, never a failure; only a crash fails the run.
//
// Options (defaults in brackets; --quick shrinks everything to finish in under a minute):
//   --quick                    CI size
//   --only=a,b                 sections: transitions, overhead, limit, scale, size, gap [all]
//   --clients=N                transition clients per scenario [100; quick 20]
//   --broadcast=N              broadcast fan-out clients [1000; quick 200]
//   --migrate=N                connections moved by one MigrateClients shutdown [1000; quick 200]
//   --scale=1000,5000,10000    connection counts held [1000,5000,10000; quick 1000]
//   --pairs=N                  adjacent A/B pairs for the invoke overhead ratios [192; quick 128];
//                              the send and echo ratios take one in eight (at least 8)
//   --rounds=N                 server shutdowns per exit-gap set-up, 20 clients [15; quick 5]; 1 client: 8×
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { GracefulShutdownMode } from "../../src/testing/index.js";
import { DUP_KINDS, exitDuplicates } from "./exit-duplicates.js";
import { exitGapSetup, type GapSetupResult } from "./exit-gap.js";
import { broadcast, echoVsRelay, migrateMany } from "./limit.js";
import { overhead } from "./overhead.js";
import { scale } from "./scale.js";
import { KINDS, transition, type TransitionResult } from "./transitions.js";
import { fmt, machine, table } from "./util.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const num = (name: string, full: number, quick: number) => {
  const v = opt(name);
  const n = v === undefined ? (flag("quick") ? quick : full) : Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`--${name} must be a positive number, got ${v}`);
  return n;
};

const quick = flag("quick");
const SECTIONS = ["transitions", "overhead", "limit", "scale", "size", "gap"] as const;
const only = opt("only")?.split(",") ?? [...SECTIONS];
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new RangeError(`Unknown section '${s}' (sections: ${SECTIONS.join(", ")})`);
const settings = {
  quick,
  clients: num("clients", 100, 20),
  broadcast: num("broadcast", 1000, 200),
  migrate: num("migrate", 1000, 200),
  scale: (opt("scale") ?? (quick ? "1000" : "1000,5000,10000")).split(",").map(Number),
  pairs: num("pairs", 192, 128),
  rounds: num("rounds", 15, 5),
};
/** Pairs for the ratios that are not a target (the send receipt, kit vs relay): one in eight, at least 8. */
const fewerPairs = Math.max(8, Math.round(settings.pairs / 8));

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
  machine: machine(),
  settings,
  ratios: "overhead[].ratio and limit.echo.ratio are ratios (same run, interleaved); everything else is absolute and machine-dependent.",
};
const started = performance.now();
const ms = (x: number | null) => (x === null ? "n/a" : fmt(x));

/** Seconds each section took, so that the CI's budget for `--quick` can be watched. */
const sectionSeconds: Record<string, number> = {};
async function section(name: (typeof SECTIONS)[number], run: () => Promise<void>): Promise<void> {
  if (!only.includes(name)) return;
  const t = performance.now();
  await run();
  sectionSeconds[name] = Math.round((performance.now() - t) / 1000);
}

console.log(`signalr-graceful benchmark — ${results.command}`);
console.log(`machine: ${JSON.stringify(results.machine)}`);

await section("transitions", async () => {
  const rows: TransitionResult[] = [];
  for (const mode of [GracefulShutdownMode.WaitForClientsClose, GracefulShutdownMode.MigrateClients, "Kill" as const])
    for (const kind of KINDS)
      rows.push(
        await transition(kind, mode, {
          clients: settings.clients,
          preMs: quick ? 300 : 1_000,
          postMs: quick ? 3_500 : 5_000,
          shutdownTimeoutMs: quick ? 5_000 : 10_000,
        }),
      );
  results.transitions = rows;
  table(
    `1. Transitions — ${settings.clients} clients, one message each per 100 ms, their server shuts down or is killed (a second one is up)`,
    ["mode", "client", "sent", "lost", "lost %", "dup", "out of order", "gap p50 ms", "gap p99 ms", "gap max ms", "all back ms", "never back", "shutdown ms"],
    rows.map((r) => [r.mode, r.kind, r.sent, r.lost, r.lostPct, r.duplicated, r.outOfOrder, r.gapP50Ms, r.gapP99Ms, r.gapMaxMs, ms(r.allBackMs), r.neverBack, r.shutdownMs]),
  );
  const gapRows = rows.filter((r) => r.exitGap);
  if (gapRows.length)
    table(
      "1b. The exit gap measured directly — old connection closed → resumed on the new one (SDK events), per client",
      ["mode", "client", "clients", "p50 ms", "p99 ms", "max ms", "stop p50", "start p50", "resume p50"],
      gapRows.map((r) => [r.mode, r.kind, r.exitGap!.clients, r.exitGap!.p50, r.exitGap!.p99, r.exitGap!.max, r.exitGap!.stopP50, r.exitGap!.startP50, r.exitGap!.resumeP50]),
    );
});

await section("overhead", async () => {
  const rows = await overhead({ rounds: settings.pairs, sendRounds: fewerPairs, sliceMs: quick ? 25 : 50 });
  results.overhead = rows;
  table(
    `2. Overhead — calls per second, GracefulConnection vs bare HubConnection (adjacent pairs of ${quick ? 25 : 50} ms slices; ratio = median of per-pair ratios, with its 95 % interval; invokes: target ≥ 0.97; sends: the price of the receipt)`,
    ["load", "pairs", "bare /s", "graceful /s", "ratio", "median 95 % interval", "ratio p25–p75"],
    rows.map((r) => [r.load, r.rounds, r.bareRps, r.gracefulRps, r.ratio, `${fmt(r.ratioCi95[0])}–${fmt(r.ratioCi95[1])}`, `${fmt(r.ratioP25)}–${fmt(r.ratioP75)}`]),
  );
});

await section("limit", async () => {
  const echo = await echoVsRelay({ clients: 8, window: 8, rounds: fewerPairs, sliceMs: quick ? 150 : 250 });
  const fan = await broadcast({ clients: settings.broadcast, repeats: quick ? 10 : 30 });
  const moved = await migrateMany({ clients: settings.migrate });
  results.limit = { echo, broadcast: fan, migrate: moved };
  table(
    "3. The kit against the limit (raw ws clients; clients, service and app server share this process)",
    ["measure", "kit", "bare ws relay", "ratio / detail"],
    [
      [`echo msgs/s, ${echo.clients} clients × ${echo.window} in flight`, echo.kitPerSec, echo.relayPerSec, `${fmt(echo.ratio)} (kit / relay; p25–p75 ${fmt(echo.ratioP25)}–${fmt(echo.ratioP75)})`],
      [`broadcast to ${fan.connected} clients: until the last, p50 ms`, fan.lastP50Ms, "", `p99 ${fmt(fan.lastP99Ms)} ms, max ${fmt(fan.lastMaxMs)} ms, half reached p50 ${fmt(fan.halfP50Ms)} ms${fan.error ? `; ${fan.error}` : ""}`],
      [`${moved.connected} connections, one MigrateClients shutdown: ms`, moved.shutdownMs, "", `migrated ${moved.migrated}, dropped ${moved.dropped}, all hellos from the new server at ${ms(moved.allHelloMs)} ms${moved.error ? `; ${moved.error}` : ""}`],
    ],
  );
});

await section("scale", async () => {
  const s = await scale({ steps: settings.scale, stepTimeoutMs: quick ? 20_000 : 120_000 });
  results.scale = s;
  const kb = (b: number) => fmt(b / 1024);
  table(
    `4. Scale — connections held; KB per connection over the empty baseline (heap = heapUsed + external)${s.gcInClients ? "" : " (no forced GC in the clients' process)"}`,
    ["target", "reached", "connect s", "service heap", "service rss", "app server heap", "app server rss", "clients heap", "clients rss", "stopped because"],
    s.steps.map((r) => [r.connections, r.reached, r.connectSeconds, kb(r.serviceHeapPerConn), kb(r.serviceRssPerConn), kb(r.serverHeapPerConn), kb(r.serverRssPerConn), kb(r.clientsHeapPerConn), kb(r.clientsRssPerConn), r.stoppedBecause ?? ""]),
  );
});

await section("size", async () => {
  // scripts/size.mjs is the one place that measures the bundle; it writes bench-results/size.json.
  execFileSync(process.execPath, [root + "scripts/size.mjs"], { stdio: "ignore" });
  const size = JSON.parse(readFileSync(root + "bench-results/size.json", "utf8")) as Record<string, { minBytes: number; gzipBytes: number }>;
  results.size = size;
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
  table(
    "5. Size — browser build, minified / gzipped (level 9)",
    ["bundle", "min", "gzip"],
    [
      ["signalr-graceful (IIFE, without @microsoft/signalr)", kb(size.iife!.minBytes), kb(size.iife!.gzipBytes)],
      ["signalr-graceful (ESM)", kb(size.esm!.minBytes), kb(size.esm!.gzipBytes)],
      ["@microsoft/signalr (browser min)", kb(size.signalr!.minBytes), kb(size.signalr!.gzipBytes)],
      ["both on a page (gzipped as one)", kb(size.total!.minBytes), kb(size.total!.gzipBytes)],
    ],
  );
});

await section("gap", async () => {
  const setups: GapSetupResult[] = [];
  for (const [where, clients, nodeHttp] of [
    ["bench process", 20, false],
    ["own process", 20, false],
    ["own process", 1, false],
    ["own process", 20, true],
    ["own process", 1, true],
  ] as const)
    setups.push(await exitGapSetup({ where, clients, nodeHttp, rounds: clients === 1 ? settings.rounds * 8 : settings.rounds }));
  const dup = [];
  for (const clients of [20, 1])
    for (const kind of DUP_KINDS) dup.push(await exitDuplicates(kind, { clients, rounds: (quick ? 5 : 10) * (clients === 1 ? 4 : 1), everyMs: 5 }));
  results.gap = { setups, duplicates: dup };
  table(
    "6. The exit gap by set-up — idle GracefulConnection clients (default options) on a server that shuts down in WaitForClientsClose; old connection closed → resumed on the new one, per client exit; parts are p50s",
    ["clients in", "client HTTP", "clients", "exits", "p50 ms", "p99 ms", "max ms", "first round p50", "stop", "negotiate app", "negotiate service", "ws connect", "handshake", "other", "resume", "hello after resumed"],
    setups.map((r) => [r.where, r.http, r.clients, `${r.samples}${r.missing ? ` (${r.missing} missing)` : ""}`, r.p50, r.p99, r.max, r.firstRoundP50, r.parts.stopMs, r.parts.negotiateAppMs, r.parts.negotiateServiceMs, r.parts.connectMs, r.parts.handshakeMs, r.parts.startOtherMs, r.parts.resumeMs, r.helloAfterP50 ?? "n/a"]),
  );
  table(
    "6b. A broadcast every 5 ms during the exits — what the clients receive: break-before-make (default) vs make-before-break without and with a message key",
    ["client", "clients", "exits", "broadcasts", "missed", "duplicates", "missed per exit p50 / max", "duplicates per exit p50 / max", "out of order"],
    dup.map((r) => [r.kind, r.clients, r.clients * r.rounds, r.broadcasts, r.missed, r.duplicates, `${fmt(r.missedPerExitP50)} / ${fmt(r.missedPerExitMax)}`, `${fmt(r.duplicatesPerExitP50)} / ${fmt(r.duplicatesPerExitMax)}`, r.outOfOrder]),
  );
});

results.durationSeconds = Math.round((performance.now() - started) / 1000);
results.sectionSeconds = sectionSeconds;
mkdirSync(root + "bench-results", { recursive: true });
// Infinity (a client that never came back) would become null in JSON; keep it explicit.
writeFileSync(root + "bench-results/bench.json", JSON.stringify(results, (_k, v) => (v === Infinity ? "Infinity" : v), 2) + "\n");
console.log(`\ndone in ${results.durationSeconds} s (${Object.entries(sectionSeconds).map(([k, v]) => `${k} ${v} s`).join(", ")}); figures in bench-results/bench.json`);
// Keep-alive HTTP agents and client libraries may hold the event loop open a while; the figures are written.
process.exit(0);
