// MiniServer: a miniature ASP.NET Core app server using Azure SignalR. It answers the
// client's /negotiate with a redirect to the service, keeps server links to the service
// per hub, runs hub classes, and shuts down gracefully in the mode it is given.
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DEFAULT_EXIT_METHOD, type ExitPayload } from "../protocol/conventions.js";
import { MIGRATE_FROM_HEADER, MIGRATE_TO_HEADER, ServiceMessageType, type ServiceMessage } from "../protocol/service-protocol.js";
import { GracefulShutdownMode } from "../protocol/shutdown-mode.js";
import { SERVER_ID_CLAIM, clientAudience, serverAudience, signToken } from "../service/access-token.js";
import { randomId, requestUrl, sendJson, sendStatus } from "../service/http-helpers.js";
import type { MiniService } from "../service/mini-service.js";
import { applyOriginPolicy, type AllowedOrigins } from "../service/origin-policy.js";
import type { DeliveryLedger } from "./delivery-dedup.js";
import { helloWanted, type HelloMode } from "./hello-policy.js";
import { ShutdownHooks, type GracefulShutdownOptions, type HookRun, type ShutdownHook, type ShutdownReport } from "./graceful-shutdown.js";
import { groupManager, hubClients, type HubTransport } from "./hub-clients.js";
import type { HubClass, HubContext } from "./hub.js";
import { ServerConnection, type ConnectionLimits } from "./server-connection.js";
import { ServiceLink } from "./service-link.js";

export interface Identity {
  userId?: string;
  claims?: Record<string, string>;
}

export interface MiniServerOptions {
  /** The service to link to: a MiniService, or the endpoint and access key of one. */
  service: MiniService | { endpoint: string; accessKey: string };
  /** Stable server id (the real SDK's server name); generated when absent. */
  id?: string;
  hubs: Record<string, HubClass>;
  gracefulShutdown?: GracefulShutdownOptions;
  /** Maps the negotiating request to a user; default reads `?user=` from the URL. Throw to refuse (401). */
  identify?: (req: IncomingMessage, url: URL) => Identity | undefined | Promise<Identity | undefined>;
  /** Port on 127.0.0.1 for /negotiate; 0 (default) picks a free one. */
  port?: number;
  /** Server links per hub (default 1; the real SDK opens 5). */
  linksPerHub?: number;
  /**
   * Who gets the `graceful.hello` convention message: "marked" (default) only connections
   * whose query string has `graceful=1`, as the SDK sends; "always" everyone (the old
   * behaviour; `true` means the same); "never" (`false`) no one. A service that does not pass
   * the client's query string (OpenConnection without one) makes "marked" act as "always".
   */
  hello?: HelloMode | boolean;
  /** Hub invocations of one client running at once (default 1, ASP.NET Core's MaximumParallelInvocationsPerClient). */
  maxParallelInvocationsPerClient?: number;
  /** Unread bytes held for one client while its invocations run (default 1 MiB); over it the client is closed with the reason. */
  maxPendingInputBytes?: number;
  /** How long `clients.client(id).invoke()` waits for the client's answer (default 30 000 ms). */
  clientResultTimeoutMs?: number;
  /**
   * Browser origins allowed to call /negotiate with credentials: a list of exact origins or a
   * predicate. Default: pages on this machine (localhost, 127.0.0.1, [::1], any port). Other
   * origins, and requests whose Host is not this machine, get 403.
   */
  allowedOrigins?: AllowedOrigins;
  /** De-duplicates and orders the SDK's deliveries: pass the same ledger to every server (default: none). */
  deliveries?: DeliveryLedger;
  /** Lifetime of issued client tokens (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Where hub errors and odd events are written (default: nowhere). */
  log?: (message: string) => void;
}

export interface MiniServerEvents {
  connected: [{ connectionId: string; hub: string; migratedFrom?: string }];
  disconnected: [{ connectionId: string; hub: string; migratedTo?: string }];
  shutdownStarted: [{ mode: GracefulShutdownMode }];
}

interface HubRuntime {
  name: string;
  cls: HubClass;
  links: ServiceLink[];
  connections: Map<string, ServerConnection>;
  context: HubContext;
  transport: HubTransport;
  /** Which link each connection arrived on: its data goes back the same way. */
  linkOf: Map<string, ServiceLink>;
  /** Closed by the service, still running what it had sent, then onDisconnected. */
  leaving: Set<ServerConnection>;
}

const defaultIdentify = (_req: IncomingMessage, url: URL): Identity | undefined => {
  const user = url.searchParams.get("user");
  return user ? { userId: user } : undefined;
};

/**
 * The redirect URL, as the real server SDK builds it: the service's client endpoint plus
 * `asrs.op` (the original path) and the client's own query string, which the service hands
 * back to the app server in OpenConnection (that is how `graceful=1` reaches it).
 */
function clientUrl(audience: string, hub: string, request: URL): string {
  const q = new URLSearchParams(request.search);
  q.delete("negotiateVersion"); // the client adds its own on the next negotiate
  const rest = q.toString();
  return `${audience}&asrs.op=${encodeURIComponent(`/${hub}`)}${rest ? `&${rest}` : ""}`;
}

/** A malformed %-escape is a bad path (404), not a server error. */
const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

export class MiniServer extends EventEmitter<MiniServerEvents> {
  readonly id: string;
  /** Register shutdown hooks: `server.gracefulShutdown.add("chat", async (hub) => …)`. */
  readonly gracefulShutdown: ShutdownHooks;
  private readonly endpoint: string;
  private readonly accessKey: string;
  private readonly http: Server;
  private readonly hubs = new Map<string, HubRuntime>();
  private readonly shutdownOptions: Required<GracefulShutdownOptions>;
  private readonly log: (m: string) => void;
  /** The port /negotiate listens on (127.0.0.1). */
  port = 0;
  private state: "running" | "shuttingDown" | "stopped" = "running";
  /** During a shutdown: each client of it, counted once, by how it left. */
  private shutdownStats = { clients: 0, closedByClients: 0, migrated: 0 };
  private allGone: (() => void) | undefined;
  private readonly limits: ConnectionLimits;
  private readonly helloMode: HelloMode;

  private constructor(private readonly o: MiniServerOptions) {
    super();
    if (!o || typeof o !== "object") throw new TypeError("MiniServer options are required.");
    if (!o.service) throw new TypeError("MiniServer needs a `service` (a MiniService or { endpoint, accessKey }).");
    if (!o.hubs || typeof o.hubs !== "object" || Object.keys(o.hubs).length === 0) throw new TypeError("MiniServer needs at least one hub in `hubs`.");
    for (const [name, cls] of Object.entries(o.hubs)) {
      if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RangeError(`Hub name '${name}' must be letters, digits, '-' or '_'.`);
      if (typeof cls !== "function") throw new TypeError(`Hub '${name}' must be a class.`);
    }
    const g = o.gracefulShutdown ?? {};
    this.shutdownOptions = {
      mode: g.mode ?? GracefulShutdownMode.Off,
      timeoutMs: g.timeoutMs ?? 30_000,
      announceExit: g.announceExit ?? true,
      exitMethod: g.exitMethod ?? DEFAULT_EXIT_METHOD,
    };
    if (!(this.shutdownOptions.mode in GracefulShutdownMode)) throw new RangeError(`Unknown graceful shutdown mode ${String(g.mode)}.`);
    if (!Number.isFinite(this.shutdownOptions.timeoutMs) || this.shutdownOptions.timeoutMs < 0) throw new RangeError("gracefulShutdown.timeoutMs must be a non-negative number.");
    const positiveInt = (v: number | undefined, d: number, what: string) => {
      const n = v ?? d;
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer.`);
      return n;
    };
    this.limits = {
      maxParallelInvocations: positiveInt(o.maxParallelInvocationsPerClient, 1, "maxParallelInvocationsPerClient"),
      maxPendingInputBytes: positiveInt(o.maxPendingInputBytes, 1024 * 1024, "maxPendingInputBytes"),
      clientResultTimeoutMs: positiveInt(o.clientResultTimeoutMs, 30_000, "clientResultTimeoutMs"),
    };
    this.helloMode = o.hello === undefined ? "marked" : o.hello === true ? "always" : o.hello === false ? "never" : o.hello;
    if (!["marked", "always", "never"].includes(this.helloMode)) throw new RangeError(`hello must be "marked", "always", "never" or a boolean.`);
    if (o.allowedOrigins !== undefined && typeof o.allowedOrigins !== "function" && !Array.isArray(o.allowedOrigins))
      throw new TypeError("allowedOrigins must be an array of origins or a function.");
    const links = o.linksPerHub ?? 1;
    if (!Number.isInteger(links) || links < 1 || links > 64) throw new RangeError("linksPerHub must be an integer from 1 to 64.");
    this.id = o.id ?? `server-${randomId().slice(0, 8)}`;
    this.endpoint = o.service.endpoint;
    this.accessKey = o.service.accessKey;
    this.log = o.log ?? (() => {});
    this.gracefulShutdown = new ShutdownHooks(() => [...this.hubs.keys()]);
    this.http = createServer((req, res) => void this.onRequest(req, res));
  }

  static async start(options: MiniServerOptions): Promise<MiniServer> {
    const s = new MiniServer(options);
    await new Promise<void>((resolve, reject) => {
      s.http.once("error", reject);
      s.http.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    s.port = (s.http.address() as AddressInfo).port;
    try {
      for (const [name, cls] of Object.entries(options.hubs)) await s.linkHub(name, cls, options.linksPerHub ?? 1);
    } catch (e) {
      await s.kill();
      throw e;
    }
    return s;
  }

  /** The URL to give `HubConnectionBuilder.withUrl()` for a hub. */
  url(hub: string): string {
    if (!this.hubs.has(hub)) throw new RangeError(`No hub named '${hub}' on server '${this.id}'.`);
    return `http://127.0.0.1:${this.port}/${hub}`;
  }

  /** IHubContext of a hub, for sending from outside a hub call. */
  hubContext(hub: string): HubContext {
    const h = this.hubs.get(hub);
    if (!h) throw new RangeError(`No hub named '${hub}' on server '${this.id}'.`);
    return h.context;
  }

  /** Client connections this server serves now. */
  get connectionCount(): number {
    let n = 0;
    for (const h of this.hubs.values()) n += h.connections.size;
    return n;
  }

  get isRunning(): boolean {
    return this.state === "running";
  }

  private async linkHub(name: string, cls: HubClass, count: number): Promise<void> {
    const token = await signToken({ audience: serverAudience(this.endpoint, name), accessKey: this.accessKey, claims: { [SERVER_ID_CLAIM]: this.id } });
    const h: HubRuntime = { name, cls, links: [], connections: new Map(), linkOf: new Map(), leaving: new Set(), context: undefined!, transport: undefined! };
    // Every path out of the hub goes through here; a dead server sends nothing.
    h.transport = {
      send: (m) => (this.state === "stopped" ? Promise.resolve() : this.sendOnHub(h, m)),
      sendToConnection: (id, message) => h.connections.get(id)?.send(message) ?? Promise.resolve(),
      invokeClient: (id, method, args) => {
        if (this.state === "stopped") return new Promise(() => {}); // a dead server waits for nothing
        const conn = h.connections.get(id);
        // Until the service routes client results between servers, the client must be on this one.
        if (!conn) return Promise.reject(new Error(`Connection '${id}' is not connected to server '${this.id}'; client results reach only this server's clients for now.`));
        return conn.invokeClient(method, args);
      },
      joinGroup: (id, group) => this.withAck(h, ServiceMessageType.JoinGroupWithAck, id, group),
      leaveGroup: (id, group) => this.withAck(h, ServiceMessageType.LeaveGroupWithAck, id, group),
    };
    h.context = { hub: name, serverId: this.id, clients: hubClients(h.transport), groups: groupManager(h.transport) };
    this.hubs.set(name, h);
    for (let i = 0; i < count; i++) {
      await ServiceLink.connect({
        endpoint: this.endpoint,
        hub: name,
        serverId: this.id,
        token,
        // Registered before connect() resolves: the service may route a client here at once.
        onOpen: (l) => h.links.push(l),
        onMessage: (m, l) => this.onServiceMessage(h, l, m),
        onClosed: (l) => this.onLinkClosed(h, l),
      });
    }
  }

  private liveLink(h: HubRuntime): ServiceLink | undefined {
    return h.links.find((l) => !l.closed);
  }

  private sendOnHub(h: HubRuntime, m: ServiceMessage): Promise<void> {
    return this.liveLink(h)?.send(m) ?? Promise.resolve();
  }

  private withAck(h: HubRuntime, type: ServiceMessageType.JoinGroupWithAck | ServiceMessageType.LeaveGroupWithAck, id: string, group: string): Promise<void> {
    const link = h.linkOf.get(id) ?? this.liveLink(h);
    if (!link) return Promise.reject(new Error(`Server '${this.id}' has no link to the service.`));
    return link.sendWithAck(type, id, group);
  }

  // ---- /negotiate ---------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const refused = applyOriginPolicy(req, res, this.o.allowedOrigins);
      if (refused) {
        req.resume();
        return sendJson(res, 403, { error: refused });
      }
      if (req.method === "OPTIONS") return sendStatus(res, 204);
      const url = requestUrl(req);
      const m = /^\/([^/]+)\/negotiate\/?$/.exec(url.pathname);
      const hub = m ? safeDecode(m[1]!) : undefined;
      if (!hub || !this.hubs.has(hub)) return sendStatus(res, 404, "Not found.");
      if (req.method !== "POST") return sendStatus(res, 405, "Negotiate must be a POST.");
      req.resume();
      let identity: Identity | undefined;
      try {
        identity = await (this.o.identify ?? defaultIdentify)(req, url);
      } catch (e) {
        return sendJson(res, 401, { error: `Unauthorized: ${(e as Error).message}` });
      }
      const audience = clientAudience(this.endpoint, hub);
      const accessToken = await signToken({
        audience,
        accessKey: this.accessKey,
        ...(identity?.userId !== undefined ? { userId: identity.userId } : {}),
        ...(identity?.claims ? { claims: identity.claims } : {}),
        ...(this.o.tokenLifetimeSeconds !== undefined ? { lifetimeSeconds: this.o.tokenLifetimeSeconds } : {}),
      });
      sendJson(res, 200, { url: clientUrl(audience, hub, url), accessToken });
    } catch (e) {
      this.log(`negotiate failed: ${(e as Error).message}`);
      if (!res.headersSent) sendStatus(res, 500, "Internal error.");
    }
  }

  // ---- Messages from the service --------------------------------------------------------

  private onServiceMessage(h: HubRuntime, link: ServiceLink, m: ServiceMessage): void {
    if (this.state === "stopped") return;
    switch (m.type) {
      case ServiceMessageType.OpenConnection: {
        const migratedFrom = m.headers[MIGRATE_FROM_HEADER]?.[0];
        // queryString arrives with the real OpenConnection layout; older services do not send it.
        const queryString = (m as { queryString?: unknown }).queryString;
        const conn: ServerConnection = new ServerConnection({
          id: m.connectionId,
          hub: h.name,
          serverId: this.id,
          userId: m.claims.nameid,
          claims: m.claims,
          migratedFrom,
          hubClass: h.cls,
          transport: h.transport,
          clients: h.context.clients,
          groups: h.context.groups,
          hello: helloWanted(this.helloMode, typeof queryString === "string" ? queryString : undefined),
          limits: this.limits,
          deliver: (payload) => (this.state === "stopped" ? Promise.resolve() : link.send({ type: ServiceMessageType.ConnectionData, connectionId: m.connectionId, payload })),
          closeWithError: (error) => void this.sendOnHub(h, { type: ServiceMessageType.CloseConnection, connectionId: m.connectionId, error, headers: {} }),
          deliveries: this.o.deliveries,
          log: this.log,
          onEnded: (c) => {
            h.leaving.delete(c);
            this.emit("disconnected", { connectionId: c.id, hub: h.name, ...(c.migration && c.migration.from === this.id ? { migratedTo: c.migration.to } : {}) });
            this.checkAllGone();
          },
        });
        h.connections.set(conn.id, conn);
        h.linkOf.set(conn.id, link);
        if (this.state === "shuttingDown") this.shutdownStats.clients++; // routed here before FIN took effect
        this.emit("connected", { connectionId: conn.id, hub: h.name, ...(migratedFrom ? { migratedFrom } : {}) });
        return;
      }
      case ServiceMessageType.ConnectionData:
        return h.connections.get(m.connectionId)?.receive(m.payload);
      case ServiceMessageType.CloseConnection: {
        const conn = h.connections.get(m.connectionId);
        if (!conn || conn.isEnded) return;
        const migratedTo = m.headers[MIGRATE_TO_HEADER]?.[0];
        if (this.state === "shuttingDown") {
          if (migratedTo) this.shutdownStats.migrated++;
          else this.shutdownStats.closedByClients++;
        }
        this.endConnection(h, conn, m.error || undefined, migratedTo);
        return;
      }
      default:
        this.log(`server ${this.id}: unexpected service message ${m.type}`);
    }
  }

  /**
   * The service closed the connection: it is no longer served here (and counted once, by the
   * caller), but it is gone only once it has run what it had sent and its onDisconnected.
   */
  private endConnection(h: HubRuntime, conn: ServerConnection, error: string | undefined, migratedTo: string | undefined): void {
    if (h.connections.get(conn.id) === conn) {
      h.connections.delete(conn.id);
      h.linkOf.delete(conn.id);
    }
    h.leaving.add(conn);
    conn.close(error, migratedTo);
  }

  /** Connections served or still finishing their work here. */
  private get busyCount(): number {
    let n = 0;
    for (const h of this.hubs.values()) n += h.connections.size + h.leaving.size;
    return n;
  }

  private checkAllGone(): void {
    if (this.busyCount === 0) this.allGone?.();
  }

  private onLinkClosed(h: HubRuntime, link: ServiceLink): void {
    if (this.state === "stopped") return; // the server is dead: its connections died with it
    // Connections that arrived on this link are gone with it.
    for (const [id, l] of [...h.linkOf]) {
      const conn = h.connections.get(id);
      if (l === link && conn) this.endConnection(h, conn, "The service link closed.", undefined);
    }
  }

  // ---- Shutdown ----------------------------------------------------------------------

  /**
   * Graceful shutdown, the four steps: FIN on every link and wait for FINACK; run the hooks;
   * wait by mode for the clients to leave or move; close the links. One budget for all.
   * Resolves with a report once the links are closed.
   */
  async shutdown(options: { mode?: GracefulShutdownMode; timeoutMs?: number } = {}): Promise<ShutdownReport> {
    if (this.state !== "running") throw new Error(`Server '${this.id}' is already ${this.state === "stopped" ? "stopped" : "shutting down"}.`);
    const mode = options.mode ?? this.shutdownOptions.mode;
    const timeoutMs = options.timeoutMs ?? this.shutdownOptions.timeoutMs;
    if (!(mode in GracefulShutdownMode)) throw new RangeError(`Unknown graceful shutdown mode ${String(mode)}.`);
    this.state = "shuttingDown";
    this.shutdownStats = { clients: this.connectionCount, closedByClients: 0, migrated: 0 };
    const startedAt = Date.now();
    const deadline = startedAt + timeoutMs;
    this.emit("shutdownStarted", { mode });
    const allLinks = [...this.hubs.values()].flatMap((h) => h.links.filter((l) => !l.closed));

    await this.beforeDeadline(Promise.all(allLinks.map((l) => l.fin(mode))), deadline);
    const finAckMs = Date.now() - startedAt;

    let hooks: HookRun[] = [];
    if (mode !== GracefulShutdownMode.Off) {
      const contexts = new Map([...this.hubs.values()].map((h) => [h.name, h.context]));
      const first = mode === GracefulShutdownMode.WaitForClientsClose && this.shutdownOptions.announceExit ? this.exitHook(deadline) : undefined;
      hooks = await this.gracefulShutdown.run(contexts, startedAt, deadline, first);
      if (this.busyCount > 0) await this.beforeDeadline(new Promise<void>((r) => (this.allGone = r)), deadline);
      this.allGone = undefined;
    }
    const dropped = this.connectionCount;
    await this.stopEverything(false);
    const report: ShutdownReport = {
      mode,
      modeName: GracefulShutdownMode[mode] as keyof typeof GracefulShutdownMode,
      serverId: this.id,
      clientsAtStart: this.shutdownStats.clients,
      hooks,
      closedByClients: this.shutdownStats.closedByClients,
      migrated: this.shutdownStats.migrated,
      dropped,
      timedOut: dropped > 0 && mode !== GracefulShutdownMode.Off,
      finAckMs,
      durationMs: Date.now() - startedAt,
    };
    return report;
  }

  /** The convention's exit broadcast: whose it is, and how long the clients have. */
  private exitHook(deadline: number): { name: string; fn: ShutdownHook } {
    return {
      name: "announceExit",
      fn: async (hub) => {
        const payload: ExitPayload = { serverId: this.id, timeoutMs: Math.max(0, deadline - Date.now()), mode: "WaitForClientsClose" };
        await hub.clients.all.send(this.shutdownOptions.exitMethod, payload);
      },
    };
  }

  /** Abrupt death: links cut without FIN or close frame, no hooks. */
  async kill(): Promise<void> {
    if (this.state === "stopped") return;
    await this.stopEverything(true);
  }

  private async stopEverything(abrupt: boolean): Promise<void> {
    this.state = "stopped";
    // Death is death: queued and running work is discarded, no hub code is started again.
    for (const h of this.hubs.values()) {
      for (const c of [...h.connections.values(), ...h.leaving]) c.kill();
      h.connections.clear();
      h.linkOf.clear();
      h.leaving.clear();
    }
    this.allGone?.();
    const links = [...this.hubs.values()].flatMap((h) => h.links);
    if (abrupt) links.forEach((l) => l.terminate());
    else await Promise.all(links.map((l) => l.close()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async beforeDeadline(p: Promise<unknown>, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
  }
}
