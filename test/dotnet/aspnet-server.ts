// A real ASP.NET Core server process for end-to-end tests: `dotnet <dll> --urls
// http://127.0.0.1:0`, its port read from what it prints once listening, stopped by SIGTERM
// (a graceful host shutdown) or SIGKILL. It has the `port` and `isRunning` a MiniLoadBalancer
// reads, so it can stand behind one next to (or instead of) MiniServers.
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { buildDotnetProject, spawnDotnet } from "./dotnet.js";

export interface AspNetServerOptions {
  /** Project under test/dotnet/ (or an absolute project directory). */
  project: string;
  args?: string[];
  env?: Record<string, string>;
  /** A line that must also have been printed before it counts as started (e.g. the Azure SDK's "Hub 'Chat' is now connected"). */
  readyLine?: RegExp;
}

/** "Now listening on: http://127.0.0.1:1234" (Microsoft.Hosting.Lifetime) or a JSON line {"type":"listening","url":…}. */
const LISTENING = /(?:Now listening on: |"url":")(http:\/\/[^\s"]+)/;

export class AspNetServer {
  port = 0;
  /** False from the moment it is told to stop: a load balancer then sends it no new connections. */
  isRunning = false;
  /** Every line it printed (stdout and stderr), for assertions and failure messages. */
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly listeners = new Set<(line: string) => void>();

  private constructor(private readonly child: ChildProcess) {
    const read = (line: string) => {
      this.lines.push(line);
      for (const l of [...this.listeners]) l(line);
    };
    createInterface({ input: child.stdout! }).on("line", read);
    createInterface({ input: child.stderr! }).on("line", read);
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => {
      this.isRunning = false;
      resolve(code ?? (signal ? -1 : null));
    }));
  }

  static async start(o: AspNetServerOptions): Promise<AspNetServer> {
    const dll = await buildDotnetProject(o.project);
    const s = new AspNetServer(spawnDotnet(dll, ["--urls", "http://127.0.0.1:0", ...(o.args ?? [])], { ASPNETCORE_ENVIRONMENT: "Development", ...o.env }));
    const url = await s.waitForLine(LISTENING, 20_000, "the server to listen");
    s.port = Number(new URL(url.match(LISTENING)![1]!).port);
    if (o.readyLine) await s.waitForLine(o.readyLine, 20_000, String(o.readyLine));
    s.isRunning = true;
    return s;
  }

  /** The process id (GracefulHub's default ServerId ends with it). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  url(hub: string): string {
    return `http://127.0.0.1:${this.port}/${hub}`;
  }

  /** Resolves with the first line (printed already or still to come) matching `re`. */
  waitForLine(re: RegExp, ms = 10_000, what = String(re)): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.\n${this.lines.join("\n")}`))), ms);
      const onLine = (l: string) => re.test(l) && finish(() => resolve(l));
      const onExit = () => finish(() => reject(new Error(`Server exited while waiting for ${what}.\n${this.lines.join("\n")}`)));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        this.child.off("exit", onExit);
        settle();
      };
      this.listeners.add(onLine);
      this.child.once("exit", onExit);
    });
  }

  /** SIGTERM: ASP.NET Core's graceful shutdown (connections closed, hosted services stopped). Resolves with the exit code. */
  async terminate(ms = 15_000): Promise<number | null> {
    return this.stopWith("SIGTERM", ms);
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    await this.stopWith("SIGKILL", 5_000);
  }

  private async stopWith(signal: NodeJS.Signals, ms: number): Promise<number | null> {
    this.isRunning = false;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), ms);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
