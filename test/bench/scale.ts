// Section 4, scale: hold 1k / 5k / 10k connections and read memory per connection in each
// process — the service, the app server (both children, run with --expose-gc) and the
// clients' process (raw `ws` clients, here). Steps are cumulative; the run stops at the first
// step that cannot be reached (refusal, error or the step's time limit) and says where.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { closeAll, connectMany, type RawHubClient } from "./raw-clients.js";
import { gcFunction, sleep } from "./util.js";

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

function child(args: string[]): Promise<{ proc: ChildProcess; hello: Record<string, string> }> {
  const proc = fork(fileURLToPath(new URL("./scale-child.ts", import.meta.url)), args, {
    execArgv: ["--expose-gc", "--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    proc.once("message", (m) => resolve({ proc, hello: m as Record<string, string> }));
    proc.once("exit", (code) => reject(new Error(`scale child ${args[0]} exited with ${code}`)));
  });
}

/** The child's memory after a GC; null when it cannot tell (out of file descriptors) or is gone. */
function memOf(proc: ChildProcess): Promise<Mem | null> {
  if (proc.exitCode !== null || !proc.connected) return Promise.resolve(null);
  return new Promise((resolve) => {
    const gone = () => resolve(null);
    proc.once("exit", gone);
    proc.once("message", (m) => {
      proc.off("exit", gone);
      resolve((m as { mem: Mem | null }).mem);
    });
    proc.send({ cmd: "mem" });
  });
}

async function localMem(gc: (() => void) | undefined): Promise<Mem | null> {
  gc?.();
  await sleep(50);
  gc?.();
  try {
    return process.memoryUsage();
  } catch {
    return null; // out of file descriptors
  }
}

export interface ScaleStep {
  connections: number;
  reached: number;
  connectSeconds: number;
  /** Bytes per connection over the 0-connection baseline: heapUsed + external, and RSS. */
  serviceHeapPerConn: number;
  serviceRssPerConn: number;
  serverHeapPerConn: number;
  serverRssPerConn: number;
  clientsHeapPerConn: number;
  clientsRssPerConn: number;
  stoppedBecause?: string;
}

export async function scale(o: { steps: number[]; stepTimeoutMs: number }): Promise<{ steps: ScaleStep[]; gcInClients: boolean }> {
  const gc = gcFunction();
  const svc = await child(["service"]);
  const srv = await child(["server", svc.hello.endpoint!, svc.hello.accessKey!]);
  const heap = (m: Mem) => m.heapUsed + m.external;
  const base = { service: await memOf(svc.proc), server: await memOf(srv.proc), clients: await localMem(gc) };
  const clients: RawHubClient[] = [];
  const steps: ScaleStep[] = [];
  for (const target of o.steps) {
    const t = performance.now();
    const want = target - clients.length;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(`step took over ${o.stepTimeoutMs / 1000} s`), o.stepTimeoutMs);
    const result = await connectMany(svc.hello.endpoint!, svc.hello.accessKey!, "bench", want, 64, ac.signal);
    clearTimeout(timer);
    clients.push(...result.clients);
    const seconds = (performance.now() - t) / 1000;
    const n = clients.length;
    const now = { service: await memOf(svc.proc), server: await memOf(srv.proc), clients: await localMem(gc) };
    const per = (a: Mem | null, b: Mem | null, f: (m: Mem) => number) => (n > 0 && a && b ? (f(a) - f(b)) / n : NaN);
    steps.push({
      connections: target,
      reached: n,
      connectSeconds: seconds,
      serviceHeapPerConn: per(now.service, base.service, heap),
      serviceRssPerConn: per(now.service, base.service, (m) => m.rss),
      serverHeapPerConn: per(now.server, base.server, heap),
      serverRssPerConn: per(now.server, base.server, (m) => m.rss),
      clientsHeapPerConn: per(now.clients, base.clients, heap),
      clientsRssPerConn: per(now.clients, base.clients, (m) => m.rss),
      ...(result.error ? { stoppedBecause: result.error } : {}),
    });
    if (result.error || n < target) break;
    if (!now.service || !now.server) {
      steps[steps.length - 1]!.stoppedBecause = "a kit process could not report its memory (out of file descriptors?)";
      break;
    }
  }
  closeAll(clients);
  for (const c of [srv, svc]) {
    if (c.proc.exitCode !== null || !c.proc.connected) continue;
    c.proc.send({ cmd: "stop" });
    await new Promise((r) => c.proc.once("exit", r));
  }
  return { steps, gcInClients: gc !== undefined };
}
