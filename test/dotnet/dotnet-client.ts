// Drives test/dotnet/DotnetClient (the real .NET SignalR client) from a test: one child process
// per connection, commands as JSON lines on its stdin, everything it prints kept in `lines`.
import { createInterface } from "node:readline";
import type { ChildProcess } from "node:child_process";
import { buildDotnetProject, spawnDotnet } from "./dotnet.js";

export type DotnetTransport = "WebSockets" | "ServerSentEvents" | "LongPolling";

export interface DotnetClientOptions {
  url: string;
  transport?: DotnetTransport;
  protocol?: "json" | "messagepack";
  /** `WithStatefulReconnect()` on the builder. */
  stateful?: boolean;
  /** `WithAutomaticReconnect()` on the builder. */
  reconnect?: boolean;
  /** Lowest log level printed (default Warning). */
  logLevel?: "Trace" | "Debug" | "Information" | "Warning" | "Error";
}

export type DotnetLine =
  | { type: "ready" }
  | { type: "log"; level: string; category: string; eventId?: string; message: string; exception?: string }
  | { type: "reply"; id: number; ok: true; result: unknown }
  | { type: "reply"; id: number; ok: false; error: string; errorType: string }
  | { type: "item"; id: number; item: unknown }
  | { type: "invocation"; method: string; args: unknown[] }
  | { type: "reconnecting"; error?: string }
  | { type: "reconnected"; connectionId?: string }
  | { type: "closed"; error?: string };

/** Thrown for a command the .NET client answered with ok:false (its exception message and type). */
export class DotnetCommandError extends Error {
  override readonly name = "DotnetCommandError";
  constructor(message: string, readonly errorType: string) {
    super(message);
  }
}

const WARNING_LEVELS = new Set(["Warning", "Error", "Critical"]);

export class DotnetClient {
  /** Every line the client printed, in order. */
  readonly lines: DotnetLine[] = [];
  private readonly waiters = new Set<() => void>();
  private nextId = 1;
  private readonly exited: Promise<number | null>;
  private stderr = "";

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (text) => {
      let line: DotnetLine;
      try {
        line = JSON.parse(text) as DotnetLine;
      } catch {
        line = { type: "log", level: "Error", category: "stdout", message: text };
      }
      this.lines.push(line);
      for (const w of [...this.waiters]) w();
    });
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code) => {
      resolve(code);
      for (const w of [...this.waiters]) w();
    }));
  }

  /** Builds the client (once per run) and starts a process; resolves once it is ready for commands. */
  static async launch(o: DotnetClientOptions): Promise<DotnetClient> {
    const dll = await buildDotnetProject("DotnetClient");
    const args = ["--url", o.url, "--transport", o.transport ?? "WebSockets", "--protocol", o.protocol ?? "json", "--log-level", o.logLevel ?? "Warning"];
    if (o.stateful) args.push("--stateful");
    if (o.reconnect) args.push("--reconnect");
    const c = new DotnetClient(spawnDotnet(dll, args));
    await c.waitFor((l) => l.type === "ready", 15_000, "the .NET client to start");
    return c;
  }

  /** Log lines at Warning or above: what a .NET app's logs would show as a problem. */
  get warnings(): Extract<DotnetLine, { type: "log" }>[] {
    return this.lines.filter((l): l is Extract<DotnetLine, { type: "log" }> => l.type === "log" && WARNING_LEVELS.has(l.level));
  }

  invocations(method: string): unknown[][] {
    return this.lines.flatMap((l) => (l.type === "invocation" && l.method.toLowerCase() === method.toLowerCase() ? [l.args] : []));
  }

  /** Resolves with the first line (already printed or still to come) that matches; rejects after `ms`. */
  waitFor<T extends DotnetLine>(pred: (l: DotnetLine) => l is T, ms?: number, what?: string): Promise<T>;
  waitFor(pred: (l: DotnetLine) => boolean, ms?: number, what?: string): Promise<DotnetLine>;
  waitFor(pred: (l: DotnetLine) => boolean, ms = 10_000, what = "a line"): Promise<DotnetLine> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      let exited = false;
      void this.exited.then(() => (exited = true));
      const check = () => {
        for (; seen < this.lines.length; seen++) {
          if (pred(this.lines[seen]!)) return done(() => resolve(this.lines[seen]!));
        }
        if (exited || this.child.exitCode !== null) done(() => reject(new Error(`.NET client exited while waiting for ${what}.\n${this.transcript()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}.\n${this.transcript()}`))), ms);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends one command and resolves with its reply's result (rejects with DotnetCommandError on ok:false). */
  async command(op: string, fields: Record<string, unknown> = {}, ms = 10_000): Promise<unknown> {
    const id = this.nextId++;
    this.child.stdin!.write(JSON.stringify({ op, id, ...fields }) + "\n");
    const reply = (await this.waitFor((l) => l.type === "reply" && l.id === id, ms, `the reply to ${op} #${id}`)) as Extract<DotnetLine, { type: "reply" }>;
    if (!reply.ok) throw new DotnetCommandError(reply.error, reply.errorType);
    return reply.result;
  }

  async start(): Promise<string> {
    return ((await this.command("start", {}, 15_000)) as { connectionId: string }).connectionId;
  }
  stop(): Promise<unknown> {
    return this.command("stop");
  }
  invoke(method: string, ...args: unknown[]): Promise<unknown> {
    return this.command("invoke", { method, args });
  }
  send(method: string, ...args: unknown[]): Promise<unknown> {
    return this.command("send", { method, args });
  }
  /** Invokes `method` with `args` plus a client-to-server stream of `items` as its last argument. */
  upload(method: string, items: unknown[], ...args: unknown[]): Promise<unknown> {
    return this.command("invoke", { method, args, upload: items });
  }
  /** A server-to-client stream: resolves with its items once it completes. */
  async stream(method: string, ...args: unknown[]): Promise<unknown[]> {
    const first = this.nextId;
    await this.command("stream", { method, args });
    return this.lines.flatMap((l) => (l.type === "item" && l.id === first ? [l.item] : []));
  }
  /** Registers a handler that records calls of `method` (taking `argc` arguments). */
  on(method: string, argc = 1): Promise<unknown> {
    return this.command("on", { method, argc });
  }
  /** Registers a client-result handler that answers `method` with `result` (or fails with `error`). */
  handle(method: string, argc: number, answer: { result?: unknown; error?: string }): Promise<unknown> {
    return this.command("handle", { method, argc, ...answer });
  }

  /** Closes stdin (the client stops its connection and exits); kills it if it takes too long. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Everything the client printed, for failure messages. */
  transcript(): string {
    return [...this.lines.map((l) => JSON.stringify(l)), this.stderr && `stderr: ${this.stderr}`].filter(Boolean).join("\n");
  }
}
