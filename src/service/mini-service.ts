// MiniService: a miniature Azure SignalR Service on 127.0.0.1. Clients negotiate and
// connect at `{endpoint}/client/?hub=<hub>`; app servers link at `{endpoint}/server/?hub=<hub>`.
// It routes each client to the online server with the fewest connections, holds groups
// and users, fans broadcasts out, and carries out both graceful-shutdown modes.
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { GracefulShutdownMode, modeOfFin } from "../protocol/shutdown-mode.js";
import {
  AckStatus,
  FINACK,
  MIGRATE_FROM_HEADER,
  MIGRATE_TO_HEADER,
  SHUTDOWN_PING_KEY,
  ServiceMessageType,
  pingPairs,
  type Payloads,
  type ServiceMessage,
} from "../protocol/service-protocol.js";
import type { HandshakeRequest } from "../protocol/json-hub-protocol.js";
import { TokenError, USER_ID_CLAIM, bearerToken, clientAudience, serverAudience, verifyToken } from "./access-token.js";
import { ClientConnection, type ClientConnectionLimits } from "./client-connection.js";
import type { ClientTransport } from "./client-transport.js";
import { cors, randomId, readBody, refuseUpgrade, requestUrl, sendJson, sendStatus, type OriginPolicy } from "./http-helpers.js";
import { HubServer } from "./hub-server.js";
import { LongPollingTransport } from "./long-polling-transport.js";
import { Membership } from "./membership.js";
import { negotiateBody, negotiateVersion, wantsStatefulReconnect } from "./negotiate.js";
import { ServerLink } from "./server-link.js";
import { ServerSentEventsTransport } from "./sse-transport.js";
import { WebSocketTransport } from "./websocket-transport.js";

export interface MiniServiceOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Key that signs and checks every token. Default: a random one per service. */
  accessKey?: string;
  /** Ping the client after this long without sending (default 15 000 ms, like ASP.NET Core). */
  keepAliveIntervalMs?: number;
  /** Drop a client silent for this long (default 30 000 ms). */
  clientTimeoutMs?: number;
  /** Drop a client that sends no handshake within this (default 15 000 ms). */
  handshakeTimeoutMs?: number;
  /** Largest hub message accepted from a client (default 32 KB, like ASP.NET Core). */
  maxMessageBytes?: number;
  /** A negotiated connection id must be used within this (default 60 000 ms). */
  negotiateTtlMs?: number;
  /** At most this many negotiated connection ids wait to be used; beyond, negotiate answers 429 (default 10 000). */
  maxPendingNegotiations?: number;
  /** Largest WebSocket frame or POST body from a client (default 2 × maxMessageBytes, 64 KB: ASP.NET Core's transport buffer). */
  maxFrameBytes?: number;
  /** Above this many bytes waiting to reach one client, stop reading from it (default 64 KB, ASP.NET Core's pause threshold). */
  sendQueuePauseBytes?: number;
  /** Above this many bytes waiting to reach one client, drop it with a Close saying why (default 1 MB). */
  maxSendQueueBytes?: number;
  /** Offer stateful reconnect to clients that ask for it (default true). */
  allowStatefulReconnect?: boolean;
  /** Unacknowledged bytes kept per connection for stateful reconnect (default 100 000, StatefulReconnectBufferSize). */
  statefulReconnectBufferBytes?: number;
  /** How long a dropped stateful-reconnect connection waits for its client to come back (default 15 000 ms, DisconnectTimeout). */
  disconnectTimeoutMs?: number;
  /** A long poll with nothing to deliver is answered empty after this (default 90 000 ms, like ASP.NET Core). */
  longPollTimeoutMs?: number;
  /**
   * Origins whose browser pages may call negotiate and the transports with credentials: a list,
   * or a function of (origin, host). Default: loopback origins only. Others get no CORS headers.
   */
  allowedOrigins?: OriginPolicy;
}

export interface ConnectionSnapshot {
  connectionId: string;
  hub: string;
  serverId: string | undefined;
  userId: string | undefined;
  groups: string[];
  /** Undefined while a stateful-reconnect connection waits for its client to come back. */
  transport: ClientTransport["kind"] | undefined;
  protocol: string | undefined;
  statefulReconnect: boolean;
}

export interface ServerSnapshot {
  serverId: string;
  hubs: string[];
  online: boolean;
  connectionCount: number;
}

/** What the service saw, as events tests can await instead of sleeping. */
export interface MiniServiceEvents {
  clientConnected: [{ connectionId: string; hub: string; serverId: string; userId?: string }];
  clientDisconnected: [{ connectionId: string; hub: string; serverId?: string; reason: string }];
  clientMigrated: [{ connectionId: string; hub: string; from: string; to: string }];
  serverLinked: [{ serverId: string; hub: string }];
  serverOffline: [{ serverId: string; hub: string; mode: GracefulShutdownMode }];
  serverUnlinked: [{ serverId: string; hub: string; abrupt: boolean }];
  /** Bad input that was refused (which endpoint, why); the service carries on. */
  rejected: [{ where: string; reason: string }];
}

interface Negotiated {
  connectionId: string;
  hub: string;
  claims: Record<string, string>;
  expiresAt: number;
  statefulReconnect: boolean;
}

interface Binding {
  server: HubServer;
  link: ServerLink;
}

const NEGOTIATE_BODY_LIMIT = 64 * 1024;

export class MiniService extends EventEmitter<MiniServiceEvents> {
  readonly accessKey: string;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  /** Clients get their own WebSocket server: their frames are bounded by the message limit, not the links'. */
  private readonly clientWss: WebSocketServer;
  private readonly opts: Required<Omit<MiniServiceOptions, "port" | "accessKey" | "allowStatefulReconnect" | "allowedOrigins">>;
  private readonly allowStatefulReconnect: boolean;
  private readonly allowedOrigins: OriginPolicy | undefined;
  /** Connections on HTTP transports (SSE, long polling) by connection token, for their GETs, POSTs and DELETEs. */
  private readonly httpTransports = new Map<string, { transport: ServerSentEventsTransport | LongPollingTransport; conn: ClientConnection; postInFlight: boolean }>();
  private readonly negotiated = new Map<string, Negotiated>();
  /** Connection tokens already used (token → connection id), so a second socket gets 409 rather than 404. */
  private readonly usedTokens = new Map<string, string>();
  private readonly clients = new Map<string, ClientConnection>();
  private readonly bindings = new Map<string, Binding>();
  private readonly hubServers = new Map<string, HubServer[]>();
  private readonly memberships = new Map<string, Membership>();
  private readonly sweeper: NodeJS.Timeout;
  private port = 0;
  private stopped = false;

  private constructor(options: MiniServiceOptions) {
    super();
    this.accessKey = options.accessKey ?? randomId() + randomId();
    this.opts = {
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 15_000,
      clientTimeoutMs: options.clientTimeoutMs ?? 30_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 15_000,
      maxMessageBytes: options.maxMessageBytes ?? 32 * 1024,
      negotiateTtlMs: options.negotiateTtlMs ?? 60_000,
      maxPendingNegotiations: options.maxPendingNegotiations ?? 10_000,
      maxFrameBytes: options.maxFrameBytes ?? 2 * (options.maxMessageBytes ?? 32 * 1024),
      sendQueuePauseBytes: options.sendQueuePauseBytes ?? 64 * 1024,
      maxSendQueueBytes: options.maxSendQueueBytes ?? 1024 * 1024,
      statefulReconnectBufferBytes: options.statefulReconnectBufferBytes ?? 100_000,
      disconnectTimeoutMs: options.disconnectTimeoutMs ?? 15_000,
      longPollTimeoutMs: options.longPollTimeoutMs ?? 90_000,
    };
    for (const [k, v] of Object.entries(this.opts))
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`MiniService option '${k}' must be a positive number, got ${String(v)}.`);
    if (this.opts.maxFrameBytes < this.opts.maxMessageBytes)
      throw new RangeError(`MiniService option 'maxFrameBytes' (${this.opts.maxFrameBytes}) must be at least 'maxMessageBytes' (${this.opts.maxMessageBytes}).`);
    if (this.opts.maxSendQueueBytes < this.opts.sendQueuePauseBytes)
      throw new RangeError(`MiniService option 'maxSendQueueBytes' must be at least 'sendQueuePauseBytes'.`);
    this.allowStatefulReconnect = options.allowStatefulReconnect ?? true;
    this.allowedOrigins = options.allowedOrigins;
    // Frames are bounded before they are buffered: one huge frame never reaches the parser.
    this.clientWss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes });
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.http.on("upgrade", (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.http.on("clientError", (_e, socket) => refuseUpgrade(socket, 400, "Bad Request"));
    const tick = Math.max(5, Math.min(this.opts.keepAliveIntervalMs, this.opts.clientTimeoutMs, this.opts.handshakeTimeoutMs, this.opts.disconnectTimeoutMs) / 3);
    this.sweeper = setInterval(() => this.sweep(), tick);
    this.sweeper.unref();
  }

  static async start(options: MiniServiceOptions = {}): Promise<MiniService> {
    if (options.port !== undefined && (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535))
      throw new RangeError(`MiniService port must be an integer 0-65535, got ${String(options.port)}.`);
    const s = new MiniService(options);
    await new Promise<void>((resolve, reject) => {
      s.http.once("error", reject);
      s.http.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    s.port = (s.http.address() as AddressInfo).port;
    return s;
  }

  /** Base URL, e.g. `http://127.0.0.1:54321`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Snapshot of every client connection. */
  connections(): ConnectionSnapshot[] {
    return [...this.clients.values()].map((c) => ({
      connectionId: c.id,
      hub: c.hub,
      serverId: this.bindings.get(c.id)?.server.serverId,
      userId: c.userId,
      groups: [...c.groups],
      transport: c.transportKind,
      protocol: c.protocol?.name,
      statefulReconnect: c.buffer !== undefined,
    }));
  }

  /** Snapshot of every linked app server (a server is online while any of its hubs is). */
  servers(): ServerSnapshot[] {
    const byId = new Map<string, ServerSnapshot>();
    for (const list of this.hubServers.values())
      for (const hs of list) {
        const s = byId.get(hs.serverId) ?? { serverId: hs.serverId, hubs: [], online: false, connectionCount: 0 };
        s.hubs.push(hs.hub);
        s.online ||= hs.online;
        s.connectionCount += hs.connections.size;
        byId.set(hs.serverId, s);
      }
    return [...byId.values()];
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const c of [...this.clients.values()]) c.close("The service is stopping.", true);
    for (const list of this.hubServers.values()) for (const hs of list) for (const l of hs.links) l.close(1001, "service stopping");
    for (const ws of this.wss.clients) ws.terminate();
    for (const ws of this.clientWss.clients) ws.terminate();
    for (const { transport } of this.httpTransports.values()) transport.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- HTTP: negotiate ----------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      cors(req, res, this.allowedOrigins);
      if (req.method === "OPTIONS") return sendStatus(res, 204);
      const url = requestUrl(req);
      const path = url.pathname.replace(/\/+$/, "");
      if (path === "/client/negotiate") return await this.onNegotiate(req, res, url);
      if (path === "/client") return await this.onHttpTransport(req, res, url);
      return sendStatus(res, 404, "Not found.");
    } catch (e) {
      this.emit("rejected", { where: "http", reason: (e as Error).message });
      if (!res.headersSent) sendStatus(res, 500, "Internal error.");
      else res.destroy();
    }
  }

  private async onNegotiate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== "POST") return sendStatus(res, 405, "Negotiate must be a POST.");
    const hub = url.searchParams.get("hub");
    if (!hub) return this.refuseJson(res, 400, "negotiate", "The 'hub' query parameter is required.");
    const version = negotiateVersion(url.searchParams);
    if (typeof version !== "number") return this.refuseJson(res, 400, "negotiate", version.error);
    let claims: Record<string, string>;
    try {
      claims = await this.checkToken(req, url, clientAudience(this.endpoint, hub));
    } catch (e) {
      this.emit("rejected", { where: "negotiate", reason: (e as Error).message });
      return sendStatus(res, 401);
    }
    // The body is ignored (the client sends none), but a huge one is refused.
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > NEGOTIATE_BODY_LIMIT) return this.refuseJson(res, 413, "negotiate", "Negotiate body too large.");
    }
    if (!this.pickServer(hub)) return this.refuseJson(res, 503, "negotiate", "No server available for this hub.");
    // Negotiations never followed by a connect are bounded in number, not only in time.
    if (this.negotiated.size >= this.opts.maxPendingNegotiations) this.expireNegotiations(Date.now());
    if (this.negotiated.size >= this.opts.maxPendingNegotiations)
      return this.refuseJson(res, 429, "negotiate", `Too many negotiated connections not yet connected (limit ${this.opts.maxPendingNegotiations}); try again later.`);
    const connectionId = randomId();
    const connectionToken = version >= 1 ? randomId() : connectionId;
    const statefulReconnect = this.allowStatefulReconnect && wantsStatefulReconnect(url.searchParams, version);
    this.negotiated.set(connectionToken, { connectionId, hub, claims, expiresAt: Date.now() + this.opts.negotiateTtlMs, statefulReconnect });
    sendJson(res, 200, negotiateBody(version, { connectionId, connectionToken, useStatefulReconnect: statefulReconnect }));
  }

  /**
   * `{endpoint}/client/?hub=<hub>&id=<token>` over plain HTTP: the Server-Sent Events stream
   * (GET with `Accept: text/event-stream`), long polls (other GETs), sends (POST) and the
   * long-polling goodbye (DELETE). Status codes as ASP.NET Core's HttpConnectionDispatcher.
   */
  private async onHttpTransport(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const hub = url.searchParams.get("hub");
    if (!hub) return sendStatus(res, 400, "The 'hub' query parameter is required.");
    let claims: Record<string, string>;
    try {
      claims = await this.checkToken(req, url, clientAudience(this.endpoint, hub));
    } catch (e) {
      this.emit("rejected", { where: "/client", reason: (e as Error).message });
      return sendStatus(res, 401);
    }
    const token = url.searchParams.get("id");
    if (!token) return sendStatus(res, 400, "Connection ID required");
    const entry = this.httpTransports.get(token);
    if (entry && entry.conn.hub !== hub) return sendStatus(res, 404, "No Connection with that ID");
    switch (req.method) {
      case "GET": {
        if (entry) {
          if (entry.transport instanceof LongPollingTransport) return entry.transport.onPoll(res, false);
          return sendStatus(res, 409, "Connection already has an active request.");
        }
        const pending = this.negotiated.get(token);
        if (!pending || pending.hub !== hub) {
          if (this.clients.has(this.usedTokens.get(token) ?? "")) return sendStatus(res, 409, "Connection already has an active transport.");
          this.emit("rejected", { where: "/client", reason: "Unknown connection id." });
          return sendStatus(res, 404, "No Connection with that ID");
        }
        this.negotiated.delete(token);
        this.usedTokens.set(token, pending.connectionId);
        const sse = (req.headers.accept ?? "").includes("text/event-stream");
        const transport = sse ? new ServerSentEventsTransport(res) : new LongPollingTransport(this.opts.longPollTimeoutMs);
        // Stateful reconnect is WebSockets-only in SignalR: the client never uses it on these.
        const conn = this.acceptClient(transport, { ...pending, statefulReconnect: false }, claims, req, url);
        this.httpTransports.set(token, { transport, conn, postInFlight: false });
        if (transport instanceof LongPollingTransport) transport.onPoll(res, true);
        return;
      }
      case "POST": {
        if (!entry || entry.conn.closed) return sendStatus(res, 404, "No Connection with that ID");
        if (entry.postInFlight) return sendStatus(res, 409, "Another send request is in progress.");
        entry.postInFlight = true;
        let body: Buffer;
        try {
          body = await readBody(req, this.opts.maxFrameBytes);
        } catch {
          entry.postInFlight = false;
          sendStatus(res, 413, `The request body exceeded ${this.opts.maxFrameBytes}B.`);
          entry.conn.close(`Connection closed with an error. InvalidDataException: The maximum message size of ${this.opts.maxMessageBytes}B was exceeded.`);
          return;
        }
        entry.postInFlight = false;
        entry.transport.receive(body);
        return sendStatus(res, 200);
      }
      case "DELETE": {
        if (!entry) return sendStatus(res, 404, "No Connection with that ID");
        if (!(entry.transport instanceof LongPollingTransport)) return sendStatus(res, 400, "Cannot terminate this connection using the DELETE endpoint.");
        entry.transport.delete();
        return sendStatus(res, 202);
      }
      default:
        return sendStatus(res, 405, "Only GET, POST and DELETE are allowed.");
    }
  }

  private refuseJson(res: ServerResponse, status: number, where: string, error: string): void {
    this.emit("rejected", { where, reason: error });
    sendJson(res, status, { error });
  }

  private async checkToken(req: IncomingMessage, url: URL, audience: string): Promise<Record<string, string>> {
    const token = bearerToken(req.headers.authorization, url.searchParams);
    if (!token) throw new TokenError("No access token.");
    return verifyToken(token, this.accessKey, audience);
  }

  // ---- WebSocket upgrades: clients and servers ------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    try {
      const url = requestUrl(req);
      const path = url.pathname.replace(/\/+$/, "");
      const hub = url.searchParams.get("hub");
      if ((path !== "/client" && path !== "/server") || !hub) {
        this.emit("rejected", { where: "upgrade", reason: `No WebSocket endpoint at '${url.pathname}'.` });
        return refuseUpgrade(socket, 404, "Not Found");
      }
      const audience = path === "/client" ? clientAudience(this.endpoint, hub) : serverAudience(this.endpoint, hub);
      let claims: Record<string, string>;
      try {
        claims = await this.checkToken(req, url, audience);
      } catch (e) {
        this.emit("rejected", { where: path, reason: (e as Error).message });
        return refuseUpgrade(socket, 401, "Unauthorized");
      }
      if (path === "/server") return this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptServer(ws, hub));
      const token = url.searchParams.get("id");
      const pending = token ? this.negotiated.get(token) : undefined;
      if (!pending || pending.hub !== hub) {
        const existing = token ? this.clients.get(this.usedTokens.get(token) ?? "") : undefined;
        if (existing && existing.hub === hub && existing.detachedSince !== undefined) {
          // Stateful reconnect: the same client comes back on a new socket, same token, same user.
          if (claims[USER_ID_CLAIM] !== existing.userId) return refuseUpgrade(socket, 403, "Forbidden");
          return this.clientWss.handleUpgrade(req, socket, head, (ws) => existing.reattach(new WebSocketTransport(ws)));
        }
        if (existing) return refuseUpgrade(socket, 409, "Conflict");
        this.emit("rejected", { where: "/client", reason: "Unknown connection id." });
        return refuseUpgrade(socket, 404, "Not Found");
      }
      this.negotiated.delete(token!);
      this.usedTokens.set(token!, pending.connectionId);
      this.clientWss.handleUpgrade(req, socket, head, (ws) => this.acceptClient(new WebSocketTransport(ws), pending, claims, req, url));
    } catch (e) {
      this.emit("rejected", { where: "upgrade", reason: (e as Error).message });
      refuseUpgrade(socket, 500, "Internal Server Error");
    }
  }

  private acceptClient(transport: ClientTransport, n: Negotiated, claims: Record<string, string>, req: IncomingMessage, url: URL): ClientConnection {
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== "authorization") headers[k] = Array.isArray(v) ? v : [v];
    // The app server sees the client's own query string, without the service's plumbing.
    const query = new URLSearchParams(url.search);
    query.delete("id");
    query.delete("access_token");
    const limits: ClientConnectionLimits = {
      maxMessageBytes: this.opts.maxMessageBytes,
      sendQueuePauseBytes: this.opts.sendQueuePauseBytes,
      maxSendQueueBytes: this.opts.maxSendQueueBytes,
      statefulReconnectBufferBytes: this.opts.statefulReconnectBufferBytes,
    };
    const conn = new ClientConnection(
      { id: n.connectionId, hub: n.hub, userId: claims[USER_ID_CLAIM], claims, headers, queryString: query.toString(), transport, limits, statefulReconnect: n.statefulReconnect },
      {
        onHandshake: (c, request, record) => this.onClientHandshake(c, request, record),
        onRecords: (c, records) => this.onClientRecords(c, records),
        onClosed: (c) => this.onClientClosed(c),
      },
    );
    this.clients.set(conn.id, conn);
    return conn;
  }

  private onClientHandshake(c: ClientConnection, _request: HandshakeRequest, record: Uint8Array): void {
    const server = this.pickServer(c.hub);
    const link = server?.pickLink();
    if (!server || !link) {
      const error = "No server available for this hub.";
      this.emit("rejected", { where: "handshake", reason: error });
      c.refuseHandshake(error);
      return;
    }
    this.bind(c, server, link);
    link.sendMany([
      { type: ServiceMessageType.OpenConnection, connectionId: c.id, claims: c.claims, headers: c.headers },
      { type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: record },
    ]);
    if (c.userId !== undefined) this.membership(c.hub).addUser(c.userId, c.id);
    this.emit("clientConnected", { connectionId: c.id, hub: c.hub, serverId: server.serverId, ...(c.userId !== undefined ? { userId: c.userId } : {}) });
  }

  private bind(c: ClientConnection, server: HubServer, link: ServerLink): void {
    this.bindings.get(c.id)?.server.connections.delete(c);
    this.bindings.set(c.id, { server, link });
    server.connections.add(c);
  }

  private onClientRecords(c: ClientConnection, records: Uint8Array): void {
    const b = this.bindings.get(c.id);
    if (!b) return;
    b.link.send({ type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: records });
  }

  private onClientClosed(c: ClientConnection): void {
    this.clients.delete(c.id);
    // An SSE stream ends with its connection; a long-polling one stays reachable until its last poll (see sweep).
    for (const [token, e] of this.httpTransports) if (e.conn === c && e.transport instanceof ServerSentEventsTransport) this.httpTransports.delete(token);
    const b = this.bindings.get(c.id);
    this.bindings.delete(c.id);
    const m = this.membership(c.hub);
    for (const g of c.groups) m.leave(g, c.id);
    if (c.userId !== undefined) m.removeUser(c.userId, c.id);
    if (b) {
      b.server.connections.delete(c);
      b.link.send({ type: ServiceMessageType.CloseConnection, connectionId: c.id, error: "", headers: {} });
    }
    this.emit("clientDisconnected", { connectionId: c.id, hub: c.hub, ...(b ? { serverId: b.server.serverId } : {}), reason: "closed" });
  }

  // ---- Server links -----------------------------------------------------------------

  private acceptServer(ws: WebSocket, hub: string): void {
    // The link registers itself through onReady once its handshake succeeds.
    new ServerLink(randomId(), hub, ws, {
      onReady: (l) => this.onLinkReady(l),
      onMessage: (l, m) => this.onServerMessage(l, m),
      onClosed: (l, abrupt) => this.onLinkClosed(l, abrupt),
    }, (l, e) => this.emit("rejected", { where: "/server", reason: `${l.serverId || "server"}: ${e.message}` }), this.opts.handshakeTimeoutMs);
  }

  private hubServer(hub: string, serverId: string): HubServer | undefined {
    return this.hubServers.get(hub)?.find((s) => s.serverId === serverId);
  }

  private onLinkReady(link: ServerLink): void {
    let hs = this.hubServer(link.hub, link.serverId);
    if (!hs) {
      hs = new HubServer(link.serverId, link.hub);
      const list = this.hubServers.get(link.hub) ?? [];
      list.push(hs);
      this.hubServers.set(link.hub, list);
      this.emit("serverLinked", { serverId: hs.serverId, hub: hs.hub });
    }
    hs.links.push(link);
  }

  private onLinkClosed(link: ServerLink, abrupt: boolean): void {
    const hs = this.hubServer(link.hub, link.serverId);
    if (!hs) return;
    const i = hs.links.indexOf(link);
    if (i >= 0) hs.links.splice(i, 1);
    // Clients bound to a dead link have lost their server: drop them with an error.
    for (const c of [...hs.connections]) {
      if (this.bindings.get(c.id)?.link !== link) continue;
      const why = abrupt
        ? `The connection to application server '${hs.serverId}' was lost.`
        : `Application server '${hs.serverId}' shut down.`;
      c.close(why, true);
    }
    if (hs.links.length === 0) {
      const list = this.hubServers.get(link.hub) ?? [];
      list.splice(list.indexOf(hs), 1);
      this.emit("serverUnlinked", { serverId: hs.serverId, hub: hs.hub, abrupt });
    }
  }

  /** The online server of the hub with the fewest connections (first linked wins a tie). */
  private pickServer(hub: string, except?: HubServer): HubServer | undefined {
    let best: HubServer | undefined;
    for (const s of this.hubServers.get(hub) ?? []) {
      if (!s.online || s === except || s.links.every((l) => l.closed)) continue;
      if (!best || s.connections.size < best.connections.size) best = s;
    }
    return best;
  }

  private membership(hub: string): Membership {
    let m = this.memberships.get(hub);
    if (!m) this.memberships.set(hub, (m = new Membership()));
    return m;
  }

  private onServerMessage(link: ServerLink, m: ServiceMessage): void {
    const hub = link.hub;
    const hs = this.hubServer(hub, link.serverId);
    const ownedBy = (connectionId: string) => {
      const b = this.bindings.get(connectionId);
      return b && b.server === hs ? this.clients.get(connectionId) : undefined;
    };
    /** Servers send each multi-target payload once per protocol; a client gets its own. */
    const deliver = (c: ClientConnection | undefined, p: Payloads) => {
      const bytes = c?.protocol && p[c.protocol.name];
      if (bytes) c.deliver(bytes);
    };
    switch (m.type) {
      case ServiceMessageType.Ping:
        return this.onServerPing(link, hs, m.pairs);
      case ServiceMessageType.ConnectionData: {
        // Output for a connection that moved away (or left) is discarded, as Azure does.
        // The first data from the server is its handshake answer; the connection tells.
        return ownedBy(m.connectionId)?.deliver(m.payload);
      }
      case ServiceMessageType.CloseConnection: {
        const c = ownedBy(m.connectionId);
        if (c) c.close(m.error || undefined);
        return;
      }
      case ServiceMessageType.MultiConnectionData: {
        for (const id of m.connectionIds) deliver(this.clientOf(hub, id), m.payloads);
        return;
      }
      case ServiceMessageType.UserData:
      case ServiceMessageType.MultiUserData: {
        const users = m.type === ServiceMessageType.UserData ? [m.userId] : m.userIds;
        const ids = new Set(users.flatMap((u) => [...this.membership(hub).connectionsOf(u)]));
        for (const id of ids) deliver(this.clientOf(hub, id), m.payloads);
        return;
      }
      case ServiceMessageType.BroadcastData: {
        const excluded = new Set(m.excluded);
        for (const c of this.clients.values()) if (c.hub === hub && c.answered && !excluded.has(c.id)) deliver(c, m.payloads);
        return;
      }
      case ServiceMessageType.GroupBroadcastData:
      case ServiceMessageType.MultiGroupBroadcastData: {
        const groups = m.type === ServiceMessageType.GroupBroadcastData ? [m.group] : m.groups;
        const excluded = new Set(m.type === ServiceMessageType.GroupBroadcastData ? m.excluded : []);
        const ids = new Set(groups.flatMap((g) => [...this.membership(hub).members(g)]));
        for (const id of ids) if (!excluded.has(id)) deliver(this.clientOf(hub, id), m.payloads);
        return;
      }
      case ServiceMessageType.JoinGroup:
      case ServiceMessageType.LeaveGroup:
      case ServiceMessageType.JoinGroupWithAck:
      case ServiceMessageType.LeaveGroupWithAck: {
        const join = m.type === ServiceMessageType.JoinGroup || m.type === ServiceMessageType.JoinGroupWithAck;
        const c = this.clientOf(hub, m.connectionId);
        if (c) {
          if (join) {
            c.groups.add(m.group);
            this.membership(hub).join(m.group, c.id);
          } else {
            c.groups.delete(m.group);
            this.membership(hub).leave(m.group, c.id);
          }
        }
        if (m.type === ServiceMessageType.JoinGroupWithAck || m.type === ServiceMessageType.LeaveGroupWithAck)
          link.send({ type: ServiceMessageType.Ack, ackId: m.ackId, status: c ? AckStatus.Ok : AckStatus.NotFound, message: c ? "" : "Connection not found." });
        return;
      }
      default:
        this.emit("rejected", { where: "/server", reason: `${link.serverId}: unexpected message type ${m.type}.` });
    }
  }

  private clientOf(hub: string, id: string): ClientConnection | undefined {
    const c = this.clients.get(id);
    return c && c.hub === hub && c.answered ? c : undefined;
  }

  private onServerPing(link: ServerLink, hs: HubServer | undefined, pairs: string[]): void {
    const p = pingPairs(pairs);
    const fin = p.get(SHUTDOWN_PING_KEY);
    if (fin === undefined) return;
    const mode = modeOfFin(fin);
    if (mode === undefined || !hs) {
      this.emit("rejected", { where: "/server", reason: `Unknown shutdown ping value '${fin}'.` });
      return;
    }
    const wasOnline = hs.online;
    hs.online = false;
    link.send({ type: ServiceMessageType.Ping, pairs: [SHUTDOWN_PING_KEY, FINACK] });
    if (!wasOnline) return;
    this.emit("serverOffline", { serverId: hs.serverId, hub: hs.hub, mode });
    if (mode === GracefulShutdownMode.MigrateClients) for (const c of [...hs.connections]) this.migrate(c, hs);
  }

  /**
   * Moves a client to another online server of its hub between two messages: the old
   * server gets CloseConnection with Asrs-Migrate-To, the new one OpenConnection with
   * Asrs-Migrate-From and the client's handshake replayed. Same connection id, same groups.
   */
  private migrate(c: ClientConnection, from: HubServer): void {
    const to = this.pickServer(c.hub, from);
    const link = to?.pickLink();
    const old = this.bindings.get(c.id);
    if (!to || !link || !old || !c.handshakeRecord) return; // stays until the old server's timeout drops it
    if (c.hasPartialMessage) {
      c.close("The connection could not be migrated: a message was incomplete.", true);
      return;
    }
    old.link.send({ type: ServiceMessageType.CloseConnection, connectionId: c.id, error: "", headers: { [MIGRATE_TO_HEADER]: [to.serverId] } });
    this.bind(c, to, link);
    link.sendMany([
      { type: ServiceMessageType.OpenConnection, connectionId: c.id, claims: c.claims, headers: { ...c.headers, [MIGRATE_FROM_HEADER]: [from.serverId] } },
      { type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: c.handshakeRecord },
    ]);
    this.emit("clientMigrated", { connectionId: c.id, hub: c.hub, from: from.serverId, to: to.serverId });
  }

  // ---- Timers: keep-alive, client timeout, handshake timeout, negotiate expiry ------

  private expireNegotiations(now: number): void {
    for (const [token, n] of this.negotiated) if (n.expiresAt < now) this.negotiated.delete(token);
  }

  private sweep(): void {
    const now = Date.now();
    this.expireNegotiations(now);
    if (this.usedTokens.size > 10_000) for (const [token, id] of this.usedTokens) if (!this.clients.has(id)) this.usedTokens.delete(token);
    for (const [token, { transport, conn }] of this.httpTransports) {
      if (!(transport instanceof LongPollingTransport) || transport.polling) continue;
      // A long-polling client is there while it polls; one that stopped is gone (so is a closed connection's last poll).
      if (now - transport.lastPollAt >= this.opts.clientTimeoutMs || (conn.closed && transport.done)) {
        transport.abandon();
        this.httpTransports.delete(token);
      }
    }
    for (const c of [...this.clients.values()]) {
      if (c.detachedSince !== undefined) {
        // Stateful reconnect: the client had its chance to come back.
        if (now - c.detachedSince >= this.opts.disconnectTimeoutMs) c.terminate();
        continue;
      }
      c.checkQueue();
      if (!c.handshakeDone) {
        if (now - c.connectedAt >= this.opts.handshakeTimeoutMs) c.close("Handshake was canceled: no handshake within the timeout.");
        continue;
      }
      // Long polling keeps itself alive by polling (checked above): no pings, no silence timeout.
      if (c.transportKind === "LongPolling") continue;
      if (now - c.lastReceivedAt >= this.opts.clientTimeoutMs) {
        c.close(`Server timeout: nothing received from the client for ${this.opts.clientTimeoutMs} ms.`, true);
        continue;
      }
      if (c.answered && now - c.lastSentAt >= this.opts.keepAliveIntervalMs) c.ping();
    }
  }
}
