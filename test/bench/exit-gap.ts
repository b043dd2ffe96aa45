// Section 6, the exit gap by set-up: idle GracefulConnection clients (default options) sit on an
// app server that shuts down in WaitForClientsClose; a fresh server is up to take them; repeated
// `rounds` times (each round's new server is the next round's victim). Each client times its own
// gap and its parts (gap-clients.ts). Set-ups: the clients in this process with the service and
// the servers (as section 1), or in a child process of their own (as in production, where each
// client is its own machine; all of them still share that one process), 20 or 1 at a time.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { GracefulShutdownMode, Hub, MiniLoadBalancer, MiniServer, MiniService } from "../../src/testing/index.js";
import { GapClients, type GapSample } from "./gap-clients.js";
import { percentile, until } from "./util.js";

class Bench extends Hub {}

export type GapWhere = "bench process" | "own process";

export interface GapOptions {
  clients: number;
  rounds: number;
  where: GapWhere;
  /** The clients' HTTP on node:http (an experiment: node-http-client.ts); default their fetch. */
  nodeHttp?: boolean;
}

export interface GapSetupResult {
  where: GapWhere;
  http: "fetch (default)" | "node:http";
  clients: number;
  rounds: number;
  samples: number;
  /** Exits whose `resumed` never came within the round's time (the client may be back later). */
  missing: number;
  p50: number;
  p99: number;
  max: number;
  /** p50 of the first round alone: code not yet optimised by the JIT, as at a client's first exit. */
  firstRoundP50: number;
  /** p50 of each part, ms (GapSample's fields). */
  parts: Record<Exclude<keyof GapSample, "totalMs" | "helloAfterMs">, number>;
  helloAfterP50: number | null;
}

interface Clients {
  samples: GapSample[];
  stop(): Promise<void>;
}

async function inChild(url: string, n: number, nodeHttp: boolean): Promise<Clients> {
  const proc: ChildProcess = fork(fileURLToPath(new URL("./gap-child.ts", import.meta.url)), [url, String(n), nodeHttp ? "node-http" : "fetch"], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const samples: GapSample[] = [];
  await new Promise<void>((resolve, reject) => {
    proc.on("message", (m: { ready?: true; sample?: GapSample }) => {
      if (m.ready) resolve();
      if (m.sample) samples.push(m.sample);
    });
    proc.once("exit", (code) => reject(new Error(`gap child exited with ${code}`)));
  });
  return {
    samples,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.send({ cmd: "stop" });
      }),
  };
}

export async function exitGapSetup(o: GapOptions): Promise<GapSetupResult> {
  const service = await MiniService.start({ clientTimeoutMs: 600_000 });
  let round = 0;
  const start = () => MiniServer.start({ service, id: `gap-${round}`, hubs: { bench: Bench } });
  const servers: MiniServer[] = [await start()];
  const door = await MiniLoadBalancer.start({ servers: () => servers });
  const url = door.url("bench");
  const clients: Clients = o.where === "own process" ? await inChild(url, o.clients, o.nodeHttp ?? false) : await GapClients.start(url, o.clients, o.nodeHttp);
  let missing = 0;
  for (round = 1; round <= o.rounds; round++) {
    servers.push(await start());
    const victim = servers.shift()!;
    const want = clients.samples.length + o.clients;
    await victim.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 5_000 });
    if (!(await until(() => clients.samples.length >= want, 5_000, 2))) missing += want - clients.samples.length;
  }
  await clients.stop();
  await Promise.all(servers.map((s) => s.kill()));
  await door.stop();
  await service.stop();

  const s = clients.samples;
  const col = (k: keyof GapSample) => s.map((x) => x[k]).filter((v): v is number => typeof v === "number");
  const p50 = (k: keyof GapSample) => percentile(col(k), 50);
  const hello = col("helloAfterMs");
  return {
    where: o.where,
    http: o.nodeHttp ? "node:http" : "fetch (default)",
    clients: o.clients,
    rounds: o.rounds,
    samples: s.length,
    missing,
    p50: p50("totalMs"),
    p99: percentile(col("totalMs"), 99),
    max: s.length ? Math.max(...col("totalMs")) : NaN,
    firstRoundP50: percentile(col("totalMs").slice(0, o.clients), 50),
    parts: {
      stopMs: p50("stopMs"),
      negotiateAppMs: p50("negotiateAppMs"),
      negotiateServiceMs: p50("negotiateServiceMs"),
      connectMs: p50("connectMs"),
      handshakeMs: p50("handshakeMs"),
      startOtherMs: p50("startOtherMs"),
      resumeMs: p50("resumeMs"),
    },
    helloAfterP50: hello.length ? percentile(hello, 50) : null,
  };
}
