// The demo's app servers: start, list, shut down in a mode, kill, add. Each server runs the
// chat hub and a shutdown hook that tells only its own clients that it is leaving.
import { EventEmitter } from "node:events";
import { GracefulShutdownMode, MiniServer, forwardToRunningServer, type ExitPayload, type HubClients, type MiniService, type ShutdownReport } from "../src/testing/index.js";
import { CHAT_HUB, chatHub, ConnectionRegistry } from "./chat-hub.js";
import { ChatStore } from "./chat-store.js";

export type ServerState = "running" | "shuttingDown" | "stopped" | "killed";
export type ShutdownModeName = "WaitForClientsClose" | "MigrateClients";
export const SHUTDOWN_MODES: readonly ShutdownModeName[] = ["WaitForClientsClose", "MigrateClients"];

export interface ServerView {
  id: string;
  state: ServerState;
  /** The service routes new clients to it. */
  online: boolean;
  /** Client connections the service has on it. */
  clients: number;
  mode?: ShutdownModeName;
  report?: ShutdownReport;
}

export class FleetError extends Error {
  constructor(
    readonly status: 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = "FleetError";
  }
}

interface Entry {
  id: string;
  server: MiniServer;
  state: ServerState;
  mode?: ShutdownModeName;
  shutdownStartedAt?: number;
  report?: ShutdownReport;
}

export interface FleetEvents {
  changed: [];
  log: [string];
}

export class ServerFleet extends EventEmitter<FleetEvents> {
  readonly store = new ChatStore();
  private readonly registry = new ConnectionRegistry();
  private readonly hub = chatHub(this.store, this.registry);
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Set<Promise<unknown>>();
  private nextLetter = 0;

  constructor(
    private readonly service: MiniService,
    private readonly shutdownTimeoutMs: number,
    private readonly maxRunning = 8,
  ) {
    super();
    const changed = () => this.emit("changed");
    for (const e of ["clientConnected", "clientDisconnected", "clientMigrated", "serverLinked", "serverOffline", "serverUnlinked"] as const) service.on(e, changed);
  }

  list(): ServerView[] {
    const snapshot = new Map(this.service.servers().map((s) => [s.serverId, s]));
    return [...this.entries.values()].map((e) => {
      const s = snapshot.get(e.id);
      return {
        id: e.id,
        state: e.state,
        online: e.state === "running" && (s?.online ?? false),
        clients: e.state === "running" || e.state === "shuttingDown" ? (s?.connectionCount ?? 0) : 0,
        ...(e.mode ? { mode: e.mode } : {}),
        ...(e.report ? { report: e.report } : {}),
      };
    });
  }

  /** A running server to answer /negotiate (the load balancer in front of the app servers). */
  /** /negotiate for any running server (a shutting-down one is out of rotation). */
  readonly negotiate = forwardToRunningServer(() => [...this.entries.values()].filter((e) => e.state === "running").map((e) => e.server));

  async add(): Promise<ServerView> {
    const running = [...this.entries.values()].filter((e) => e.state === "running").length;
    if (running >= this.maxRunning) throw new FleetError(409, `At most ${this.maxRunning} servers may run at once.`);
    let id: string;
    do id = `server-${letters(this.nextLetter++)}`;
    while (this.entries.has(id));
    const server = await MiniServer.start({
      service: this.service,
      id,
      hubs: { [CHAT_HUB]: this.hub },
      // The hook below announces the exit to this server's clients only.
      gracefulShutdown: { mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: this.shutdownTimeoutMs, announceExit: false },
    });
    const entry: Entry = { id, server, state: "running" };
    server.gracefulShutdown.add(CHAT_HUB, (hub) => this.announceExit(entry, hub.clients), "announceExit");
    this.entries.set(id, entry);
    this.emit("log", `${id} started`);
    this.emit("changed");
    return this.list().find((s) => s.id === id)!;
  }

  /** Starts a graceful shutdown and returns at once; the change shows in list() and `changed`. */
  shutdown(id: string, mode: ShutdownModeName): ServerView {
    const e = this.running(id);
    e.state = "shuttingDown";
    e.mode = mode;
    e.shutdownStartedAt = Date.now();
    this.emit("log", `${id}: graceful shutdown, ${mode}, timeout ${this.shutdownTimeoutMs} ms`);
    this.track(
      e.server.shutdown({ mode: GracefulShutdownMode[mode], timeoutMs: this.shutdownTimeoutMs }).then(
        (report) => {
          e.report = report;
          if (e.state === "shuttingDown") e.state = "stopped";
          this.emit("log", `${id}: stopped after ${report.durationMs} ms (closed by clients ${report.closedByClients}, migrated ${report.migrated}, dropped ${report.dropped})`);
          this.emit("changed");
        },
        (err: Error) => this.emit("log", `${id}: shutdown failed: ${err.message}`),
      ),
    );
    this.emit("changed");
    return this.list().find((s) => s.id === id)!;
  }

  async kill(id: string): Promise<ServerView> {
    const e = this.entries.get(id);
    if (!e) throw new FleetError(404, `No server '${id}'.`);
    if (e.state === "stopped" || e.state === "killed") throw new FleetError(409, `Server '${id}' is already ${e.state}.`);
    e.state = "killed";
    await e.server.kill();
    this.emit("log", `${id}: killed`);
    this.emit("changed");
    return this.list().find((s) => s.id === id)!;
  }

  /** Kills every server (used on exit: the demo does not wait for graceful shutdowns). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.server.kill()));
    await Promise.allSettled([...this.pending]);
  }

  private running(id: string): Entry {
    const e = this.entries.get(id);
    if (!e) throw new FleetError(404, `No server '${id}'.`);
    if (e.state !== "running") throw new FleetError(409, `Server '${id}' is ${e.state === "shuttingDown" ? "already shutting down" : e.state}.`);
    return e;
  }

  /**
   * The exit convention, done carefully: in WaitForClientsClose only, sent to the clients of
   * the leaving server (not Clients.All), naming the server and the time the clients have left.
   */
  private async announceExit(e: Entry, clients: HubClients): Promise<void> {
    if (e.mode !== "WaitForClientsClose") return;
    const ids = this.registry.on(e.id);
    if (ids.length === 0) return;
    const elapsed = Date.now() - (e.shutdownStartedAt ?? Date.now());
    const payload: ExitPayload = { serverId: e.id, timeoutMs: Math.max(0, this.shutdownTimeoutMs - elapsed), mode: e.mode };
    await clients.clients(ids).send("exit", payload);
    this.emit("log", `${e.id}: told its ${ids.length} client(s) to leave`);
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

/** 0 → "a", 25 → "z", 26 → "aa". */
function letters(n: number): string {
  let s = "";
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}
