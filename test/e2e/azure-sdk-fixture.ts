// The real C# app server (test/dotnet/ChatServer, Microsoft.Azure.SignalR 1.34.0) as a child
// process pointed at the kit's MiniService, and the shared message store several of them use
// (standing for the app's database). Built once per change; each process starts with
// `dotnet ChatServer.dll`, SIGTERM runs the host's StopAsync (the SDK's graceful shutdown).
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import { createInterface } from "node:readline";
import { buildDotnetProject, spawnDotnet } from "../dotnet/dotnet.js";
import type { ChatMessage } from "./chat-fixture.js";
import { closeHttp, listenLoopback, loopbackUrl } from "./loopback-http.js";

/** The SDK's default ServiceOptions.ConnectionCount (InitialHubServerConnectionCount). */
export const LINKS_PER_SERVER = 5;

export type ShutdownModeName = "MigrateClients" | "WaitForClientsClose" | "Off";

export interface AppEvent {
  what: string;
  details: Record<string, unknown>;
  /** Index of the line it was printed on, to order it against the SDK's own log lines. */
  line: number;
}

export interface ChatServerOptions {
  serverId: string;
  /** The emulator's connection string; without it the app runs self-hosted SignalR. */
  connectionString?: string;
  mode?: ShutdownModeName;
  timeoutSeconds?: number;
  storeUrl?: string;
  /** More environment for the process (e.g. DELIVERY_LEDGER_URL, TRACE_SENDS). */
  env?: Record<string, string>;
}

export class ChatServerProcess extends EventEmitter<{ line: [string] }> {
  readonly lines: string[] = [];
  readonly events: AppEvent[] = [];
  port = 0;
  private stopping = false;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  private constructor(readonly id: string, private readonly child: ChildProcess) {
    super();
    const onLine = (text: string) => {
      const line = this.lines.push(text) - 1;
      const m = /EVENT (\{.*\})$/.exec(text);
      if (m) {
        const e = JSON.parse(m[1]!) as { what: string; details: Record<string, unknown> };
        this.events.push({ ...e, line });
      }
      const listening = /Now listening on: http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (listening) this.port = Number(listening[1]);
      for (const w of [...this.waiters]) w();
      this.emit("line", text);
    };
    createInterface({ input: child.stdout! }).on("line", onLine);
    createInterface({ input: child.stderr! }).on("line", (t) => onLine(`stderr: ${t}`));
    this.exited = new Promise((resolve) =>
      child.once("exit", (code) => {
        this.exitCode = code;
        for (const w of [...this.waiters]) w();
        resolve(code);
      }),
    );
  }

  /** Starts the app and resolves once it listens and its hub is linked to the service (if any). */
  static async start(o: ChatServerOptions): Promise<ChatServerProcess> {
    const dll = await buildDotnetProject("ChatServer");
    const env: Record<string, string> = {
      SERVER_ID: o.serverId,
      SHUTDOWN_MODE: o.mode ?? "WaitForClientsClose",
      SHUTDOWN_TIMEOUT_S: String(o.timeoutSeconds ?? 10),
      ASPNETCORE_ENVIRONMENT: "Production",
      EXIT_WITH_STDIN: "1", // no server outlives the test process, whatever happens to it
    };
    if (o.connectionString) env["Azure__SignalR__ConnectionString"] = o.connectionString;
    if (o.storeUrl) env["CHAT_STORE_URL"] = o.storeUrl;
    Object.assign(env, o.env);
    const p = new ChatServerProcess(o.serverId, spawnDotnet(dll, ["--urls", "http://127.0.0.1:0"], env));
    await p.waitForLine((l) => /Now listening on:/.test(l), "Now listening on", 30_000);
    // Ready when all of the SDK's server connections (5 by default) are up, not just the first.
    if (o.connectionString) await p.waitFor(() => (p.lines.filter((l) => /Service connection \S+ connected\./.test(l)).length >= LINKS_PER_SERVER ? true : undefined), "its 5 server connections", 30_000);
    return p;
  }

  /** For the load balancer: a server that is stopping is out of rotation. */
  get isRunning(): boolean {
    return !this.stopping && this.exitCode === undefined;
  }

  /** Index of the first line matching, or -1. */
  indexOf(pred: (line: string) => boolean): number {
    return this.lines.findIndex(pred);
  }

  waitForLine(pred: (line: string) => boolean, what: string, ms = 15_000): Promise<number> {
    return this.waitFor(() => {
      const i = this.indexOf(pred);
      return i >= 0 ? i : undefined;
    }, what, ms);
  }

  waitForEvent(pred: (e: AppEvent) => boolean, what: string, ms = 15_000): Promise<AppEvent> {
    return this.waitFor(() => this.events.find(pred), what, ms);
  }

  waitFor<T>(probe: () => T | undefined, what: string, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v !== undefined) return done(() => resolve(v));
        if (this.exitCode !== undefined) done(() => reject(new Error(`${this.id} exited (${this.exitCode}) while waiting for ${what}.\n${this.tail()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.id}: timed out after ${ms} ms waiting for ${what}.\n${this.tail()}`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Hub calls whose broadcast the real SDK reports it could not send: it stops its server
   * connections as soon as its last client is gone, while a call may still be running
   * ("BroadcastDataMessage … is not sent … because all connections to this endpoint are offline").
   */
  get failedBroadcasts(): number {
    return this.lines.filter((l) => /Failed to invoke hub method 'SendMessage'/.test(l)).length;
  }

  tail(n = 25): string {
    return this.lines.slice(-n).join("\n");
  }

  /** SIGTERM: the host's StopAsync, i.e. the SDK's graceful shutdown. Resolves on exit. */
  stop(): Promise<number | null> {
    this.stopping = true;
    if (this.exitCode === undefined) this.child.kill("SIGTERM");
    return this.exited;
  }

  /** SIGKILL: a crash. */
  kill(): Promise<number | null> {
    this.stopping = true;
    if (this.exitCode === undefined) this.child.kill("SIGKILL");
    return this.exited;
  }
}

/** The app's "database" over HTTP: messages with global increasing ids, idempotent by clientMsgId. */
export class ChatStoreServer extends EventEmitter<{ stored: [ChatMessage] }> {
  readonly messages: ChatMessage[] = [];
  private readonly byClientId = new Map<string, ChatMessage>();
  /** Set by a test to hold a POST (a hub call still running) until the promise settles. */
  gate: ((m: ChatMessage) => Promise<void>) | undefined;

  private constructor(private readonly http: Server) {
    super();
  }

  has(user: string, seq: number): boolean {
    return this.byClientId.has(`${user}#${seq}`);
  }

  static async start(): Promise<ChatStoreServer> {
    let store!: ChatStoreServer;
    const http = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (req.method === "GET" && url.pathname === "/messages") {
        const since = Number(url.searchParams.get("since") ?? 0);
        res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(store.messages.slice(since)));
        return;
      }
      if (req.method === "POST" && url.pathname === "/messages") {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", async () => {
          const m = JSON.parse(body) as ChatMessage;
          await store.gate?.(m);
          const old = store.byClientId.get(m.clientMsgId);
          const message = old ?? { ...m, id: store.messages.length + 1 };
          if (!old) {
            store.messages.push(message);
            store.byClientId.set(m.clientMsgId, message);
            store.emit("stored", message);
          }
          res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ message, isNew: !old }));
        });
        return;
      }
      res.writeHead(404).end();
    });
    store = new ChatStoreServer(http);
    await listenLoopback(http);
    return store;
  }

  get url(): string {
    return loopbackUrl(this.http);
  }

  stop(): Promise<void> {
    return closeHttp(this.http);
  }
}
