// A real redis-server (Debian's package) for the tests of ChatServer's RedisDeliveryLedger: on a
// free port of 127.0.0.1, no persistence, stopped with the test file. Missing redis-server skips
// those tests loudly, or fails them when REQUIRE_REDIS=1 (which .ci/run sets) or CI=true.
// REDIS_SERVER names another binary.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { describe } from "vitest";
import { describeDotnet } from "../dotnet/dotnet.js";

const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";

/** Why the Redis tests cannot run here, or undefined when redis-server and redis-cli are on PATH. */
export const redisMissing: string | undefined = (() => {
  for (const bin of [REDIS_SERVER, "redis-cli"]) {
    const r = spawnSync(bin, ["--version"], { encoding: "utf8" });
    if (r.error || r.status !== 0) return `\`${bin}\` is not on PATH`;
  }
  return undefined;
})();

/** `describeDotnet` that also needs redis-server: skips loudly without it, fails in CI. */
export function describeRedis(name: string, fn: () => void): void {
  if (!redisMissing) return describeDotnet(name, fn);
  if (process.env.CI === "true" || process.env.REQUIRE_REDIS === "1") {
    describe(name, () => {
      throw new Error(`Redis tests cannot run in CI: ${redisMissing}. Install it (apt-get install redis-server).`);
    });
    return;
  }
  console.warn(`\n*** SKIPPED (Redis): "${name}": ${redisMissing}. Install redis-server to run it. ***\n`);
  describe.skip(name, fn);
}

/** A port nothing listens on now (redis-server refuses --port 0). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export class RedisServer {
  private readonly exited: Promise<void>;

  private constructor(readonly port: number, private readonly child: ChildProcess, readonly lines: string[]) {
    this.exited = new Promise((r) => child.once("exit", () => r()));
  }

  static async start(): Promise<RedisServer> {
    const port = await freePort();
    const child = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${lines.join("\n")}`)), 10_000);
      const onLine = (l: string) => {
        lines.push(l);
        if (/Ready to accept connections/.test(l)) {
          clearTimeout(timer);
          resolve();
        }
      };
      createInterface({ input: child.stdout! }).on("line", onLine);
      createInterface({ input: child.stderr! }).on("line", onLine);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${lines.join("\n")}`));
      });
    });
    return new RedisServer(port, child, lines);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** One command through redis-cli; its reply as redis-cli prints it (lines). */
  cli(...args: string[]): Promise<string[]> {
    return new Promise((resolve, reject) =>
      execFile("redis-cli", ["-h", "127.0.0.1", "-p", String(this.port), ...args], { encoding: "utf8" }, (err, stdout) =>
        err ? reject(err) : resolve(stdout.split("\n").filter((l) => l !== "")),
      ),
    );
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await this.exited;
  }
}
