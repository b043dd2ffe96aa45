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
  ECHO_PING_KEY,
  FINACK,
  MIGRATE_FROM_HEADER,
  MIGRATE_TO_HEADER,
  SERVERS_PING_KEY,
  SERVER_ID_HEADER,
  SHUTDOWN_PING_KEY,
  ServiceMessageType,
  pingPairs,
  type Extensions,
  type Payloads,
  type ServiceMessage,
} from "../protocol/service-protocol.js";
import type { HandshakeRequest } from "../protocol/json-hub-protocol.js";
import { SERVER_ID_CLAIM, TokenError, bearerToken, clientAudience, serverAudience, userIdOf, verifyToken } from "./access-token.js";
import { ClientInvocations } from "./client-invocations.js";
import { handshakeAnswerLength, isHandshakeAnswer } from "./handshake-answer.js";
import { ClientConnection, type ClientConnectionLimits } from "./client-connection.js";
import type { ClientTransport } from "./client-transport.js";
import { randomId, readBody, refuseUpgrade, requestUrl, sendJson, sendStatus } from "./http-helpers.js";
import { applyOriginPolicy, type AllowedOrigins } from "./origin-policy.js";
import { HubServer } from "./hub-server.js";
import { LongPollingTransport } from "./long-polling-transport.js";
import { endOfDeliveryMarker } from "./marker-split.js";
import { Membership } from "./membership.js";
import { negotiateBody, negotiateVersion, wantsStatefulReconnect } from "./negotiate.js";
import { DEFAULT_SERVER_LINK_LIMITS, ServerLink } from "./server-link.js";
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
   * Origins whose browser pages may call negotiate and the HTTP transports with credentials: a
   * list, or a predicate. Default: loopback origins only. Any other Origin, or a Host that does
   * not name this machine (DNS rebinding), gets 403 and no CORS headers.
   */
  allowedOrigins?: AllowedOrigins;
  /** Ping a server link after this long without sending (default 5 000 ms, like Azure). */
  serverPingIntervalMs?: number;
  /** Drop a server link silent for this long (default 30 000 ms; the real SDK pings every 5 s). */
  serverTimeoutMs?: number;
  /** Bytes queued for one server link before it is dropped as not reading (default 1 MB). */
  maxServerLinkBufferBytes?: number;
  /** Hub messages held for a client until its server's handshake answer goes out (default 1 000). */
  maxEarlyMessages?: number;
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
  /** Server connections (links) open, over all hubs; the real SDK opens 5 per hub. */
  linkCount: number;
}

/** What the service saw, as events tests can await instead of sleeping. */
export interface MiniServiceEvents {
  clientConnected: [{ connectionId: string; hub: string; serverId: string; userId?: string }];
  clientDisconnected: [{ connectionId: string; hub: string; serverId?: string; reason: string }];
  clientMigrated: [{ connectionId: string; hub: string; from: string; to: string }];
  serverLinked: [{ serverId: string; hub: string }];
  serverOffline: [{ serverId: string; hub: string; mode: GracefulShutdownMode }];
  serverUnlinked: [{ serverId: string; hub: string; abrupt: boolean }];
  /** Stateful reconnect: a client's transport dropped; its connection (and server) wait for it to come back. */
  clientTransportLost: [{ connectionId: string; hub: string }];
  /** Stateful reconnect: the client came back on a new transport; `resent` messages it had not acked were sent again. */
  clientResumed: [{ connectionId: string; hub: string; resent: number }];
  /** Bad input that was refused (which endpoint, why); the service carries on. */
  rejected: [{ where: string; reason: string }];
  /** A server message the service reads but does not act on (see docs/emulator.md). */
  ignored: [{ serverId: string; hub: string; type: number }];
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
  /** Hub messages the server wrote before its handshake answer, delivered right after it. */
  early: Uint8Array[];
  earlyBytes: number;
  /** Migrated here: the client already has its handshake answer; drop the new server's, if any. */
  swallowAnswer: boolean;
}

const NEGOTIATE_BODY_LIMIT = 64 * 1024;
/** Bytes held for one client before its server's handshake answer (with maxEarlyMessages). */
const EARLY_BYTES_LIMIT = 1024 * 1024;

export class MiniService extends EventEmitter<MiniServiceEvents> {
  readonly accessKey: string;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  /** Clients get their own WebSocket server: their frames are bounded by the message limit, not the links'. */
  private readonly clientWss: WebSocketServer;
  private readonly opts: Required<Omit<MiniServiceOptions, "port" | "accessKey" | "allowStatefulReconnect" | "allowedOrigins">>;
  private readonly allowStatefulReconnect: boolean;
  private readonly allowedOrigins: AllowedOrigins | undefined;
  /** Connections on HTTP transports (SSE, long polling) by connection token, for their GETs, POSTs and DELETEs. */
  private readonly httpTransports = new Map<string, { transport: ServerSentEventsTransport | LongPollingTransport; conn: ClientConnection; postInFlight: boolean }>();
  private readonly negotiated = new Map<string, Negotiated>();
  /** Connection tokens already used (token → connection id), so a second socket gets 409 rather than 404. */
  private readonly usedTokens = new Map<string, string>();
  private readonly clients = new Map<string, ClientConnection>();
  private readonly bindings = new Map<string, Binding>();
  private readonly hubServers = new Map<string, HubServer[]>();
  private readonly memberships = new Map<string, Membership>();
  private readonly invocations = new ClientInvocations();
  /** Test hook: connections to move right after their next delivery marker (migrateAfterDeliveryMarker). */
  private readonly markerSplits = new Map<string, { resolve(moved: { from: string; to: string }): void; reject(e: Error): void }>();
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
      serverPingIntervalMs: options.serverPingIntervalMs ?? DEFAULT_SERVER_LINK_LIMITS.pingIntervalMs,
      serverTimeoutMs: options.serverTimeoutMs ?? DEFAULT_SERVER_LINK_LIMITS.timeoutMs,
      maxServerLinkBufferBytes: options.maxServerLinkBufferBytes ?? DEFAULT_SERVER_LINK_LIMITS.maxBufferedBytes,
      maxEarlyMessages: options.maxEarlyMessages ?? 1000,
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
        const s = byId.get(hs.serverId) ?? { serverId: hs.serverId, hubs: [], online: false, connectionCount: 0, linkCount: 0 };
        s.hubs.push(hs.hub);
        s.online ||= hs.online;
        s.connectionCount += hs.connections.size;
        s.linkCount += hs.links.filter((l) => !l.closed).length;
        byId.set(hs.serverId, s);
      }
    return [...byId.values()];
  }

  /**
   * Chaos for tests: cuts a client's transport as a network failure would (no Close message,
   * no close frame). A stateful-reconnect client comes back to the same connection; any other
   * client's connection ends. False when there is no such connection.
   */
  dropClientTransport(connectionId: string): boolean {
    const c = this.clients.get(connectionId);
    if (!c || c.transportKind === undefined) return false;
    c.dropTransport();
    return true;
  }

  /**
   * Test hook: moves a client to another online server of its hub right after the service has
   * forwarded the client's next `GracefulDelivery` marker to its server, before the message that
   * follows — a marker on the old server, its message on the new one. A MigrateClients shutdown
   * makes this split only by chance. The move is the one a shutdown makes (CloseConnection with
   * Asrs-Migrate-To, OpenConnection with Asrs-Migrate-From); the old server stays online.
   * Resolves with both server ids once moved; rejects when there is nowhere to move it to, or
   * the connection ends first.
   */
  migrateAfterDeliveryMarker(connectionId: string): Promise<{ from: string; to: string }> {
    if (!this.clients.has(connectionId)) return Promise.reject(new RangeError(`No client connection '${connectionId}'.`));
    if (this.markerSplits.has(connectionId)) return Promise.reject(new Error(`A migration after a marker is already armed for '${connectionId}'.`));
    return new Promise((resolve, reject) => this.markerSplits.set(connectionId, { resolve, reject }));
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
      // The same policy as the app server's negotiate (origin-policy.ts): credentials never go to an arbitrary page.
      const refused = applyOriginPolicy(req, res, this.allowedOrigins);
      if (refused) return this.refuseJson(res, 403, "origin", refused);
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
        // The connection may have ended while the body arrived: then nothing was delivered, and the client must know.
        if (entry.conn.closed) return sendStatus(res, 404, "No Connection with that ID");
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
      if (path === "/server") {
        const serverId = this.serverIdOf(claims, req.headers[SERVER_ID_HEADER.toLowerCase()]);
        if (typeof serverId !== "string") {
          this.emit("rejected", { where: path, reason: serverId.error });
          return refuseUpgrade(socket, 401, "Unauthorized");
        }
        return this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptServer(ws, hub, serverId));
      }
      const token = url.searchParams.get("id");
      const pending = token ? this.negotiated.get(token) : undefined;
      if (!pending || pending.hub !== hub) {
        const existing = token ? this.clients.get(this.usedTokens.get(token) ?? "") : undefined;
        if (existing && existing.hub === hub && existing.detachedSince !== undefined) {
          // Stateful reconnect: the same client comes back on a new socket, same token, same user.
          if (userIdOf(claims) !== existing.userId) return refuseUpgrade(socket, 403, "Forbidden");
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

  /**
   * A link's identity is its token's: the real SDK signs `nameid` = its server id and repeats it
   * in X-ASRS-Server-Id. A header that disagrees with the token is refused; a token without one
   * (another SDK) falls back to the header, then to a fresh id per link.
   */
  private serverIdOf(claims: Record<string, string>, header: string | string[] | undefined): string | { error: string } {
    const fromToken = claims[SERVER_ID_CLAIM];
    const fromHeader = Array.isArray(header) ? header[0] : header;
    if (fromToken && fromHeader !== undefined && fromHeader !== fromToken)
      return { error: `Server id '${fromHeader.slice(0, 64)}' in ${SERVER_ID_HEADER} disagrees with the token's '${fromToken.slice(0, 64)}'.` };
    return fromToken || fromHeader || randomId();
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
      { id: n.connectionId, hub: n.hub, userId: userIdOf(claims), claims, headers, queryString: query.toString(), transport, limits, statefulReconnect: n.statefulReconnect },
      {
        onHandshake: (c, request, record) => this.onClientHandshake(c, request, record),
        onRecords: (c, records) => this.onClientRecords(c, records),
        onClosed: (c) => this.onClientClosed(c),
        onTransportChange: (c, change) =>
          "lost" in change ? this.emit("clientTransportLost", { connectionId: c.id, hub: c.hub }) : this.emit("clientResumed", { connectionId: c.id, hub: c.hub, resent: change.resent }),
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
    this.bind(c, server, link, false);
    link.sendMany([
      this.openConnection(c, c.headers),
      { type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: record },
    ]);
    if (c.userId !== undefined) {
      const m = this.membership(c.hub);
      m.addUser(c.userId, c.id);
      // Groups a server put the user in (UserJoinGroup) hold for the user's new connections too.
      for (const g of m.groupsOfUser(c.userId)) (c.groups.add(g), m.join(g, c.id));
    }
    this.emit("clientConnected", { connectionId: c.id, hub: c.hub, serverId: server.serverId, ...(c.userId !== undefined ? { userId: c.userId } : {}) });
  }

  private openConnection(c: ClientConnection, headers: Record<string, string[]>): ServiceMessage {
    return { type: ServiceMessageType.OpenConnection, connectionId: c.id, claims: c.claims, headers, queryString: c.queryString, protocol: c.protocol?.name ?? "json" };
  }

  private bind(c: ClientConnection, server: HubServer, link: ServerLink, migrated: boolean): void {
    this.bindings.get(c.id)?.server.connections.delete(c);
    this.bindings.set(c.id, { server, link, early: [], earlyBytes: 0, swallowAnswer: migrated });
    server.connections.add(c);
  }

  /**
   * Everything a server writes to a client goes through here: nothing reaches the client before
   * its handshake answer (messages written earlier wait, bounded, and follow it), and a migrated
   * client never sees a second answer.
   */
  private deliver(c: ClientConnection, payload: Uint8Array, ext?: Extensions): void {
    const b = this.bindings.get(c.id);
    if (!b || c.closed) return;
    if (b.swallowAnswer) {
      b.swallowAnswer = false;
      const n = handshakeAnswerLength(payload);
      if (n > 0) payload = payload.subarray(n);
      if (payload.length === 0) return;
    }
    if (c.answered) return c.deliver(payload);
    if (isHandshakeAnswer(payload, ext)) {
      const n = handshakeAnswerLength(payload) || payload.length;
      c.answerHandshake(payload.subarray(0, n));
      if (n < payload.length) c.deliver(payload.subarray(n));
      for (const p of b.early.splice(0)) c.deliver(p);
      b.earlyBytes = 0;
      return;
    }
    // Bounded in count and bytes: a server that never answers must not grow the service's memory.
    if (b.early.length >= this.opts.maxEarlyMessages || b.earlyBytes + payload.length > EARLY_BYTES_LIMIT) {
      c.close(`The server wrote more than ${b.early.length} messages (${b.earlyBytes} bytes) before its handshake answer.`);
      return;
    }
    b.early.push(payload);
    b.earlyBytes += payload.length;
  }

  /** The payload in the client's own hub protocol. */
  private payloadFor(c: ClientConnection, p: Payloads): Uint8Array | undefined {
    return p[c.protocol?.name ?? "json"];
  }

  private onClientRecords(c: ClientConnection, records: Uint8Array): void {
    const b = this.bindings.get(c.id);
    if (!b) return;
    const split = this.markerSplits.size > 0 ? this.markerSplits.get(c.id) : undefined;
    const end = split ? endOfDeliveryMarker(records, c.binary) : -1;
    if (split && end >= 0) {
      this.markerSplits.delete(c.id);
      b.link.send({ type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: records.subarray(0, end) });
      this.migrate(c, b.server);
      const to = this.bindings.get(c.id)?.server;
      if (!to || to === b.server) split.reject(new Error(`Client '${c.id}' could not be moved: no other online server of hub '${c.hub}'.`));
      else split.resolve({ from: b.server.serverId, to: to.serverId });
      if (end < records.length) this.onClientRecords(c, records.subarray(end));
      return;
    }
    b.link.send({ type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: records });
  }

  private onClientClosed(c: ClientConnection): void {
    this.clients.delete(c.id);
    this.markerSplits.get(c.id)?.reject(new Error(`Client '${c.id}' left before its next delivery marker.`));
    this.markerSplits.delete(c.id);
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
    // A client result nobody will send: its caller hears so rather than waiting for its timeout.
    for (const p of this.invocations.takeAllFor(c.hub, c.id))
      this.linkOfServer(c.hub, p.callerServerId)?.send({ type: ServiceMessageType.ErrorCompletion, invocationId: p.invocationId, connectionId: c.id, callerServerId: p.callerServerId, error: "Connection disconnected." });
    this.emit("clientDisconnected", { connectionId: c.id, hub: c.hub, ...(b ? { serverId: b.server.serverId } : {}), reason: "closed" });
  }

  // ---- Server links -----------------------------------------------------------------

  private acceptServer(ws: WebSocket, hub: string, serverId: string): void {
    // The link registers itself through onReady once its handshake succeeds.
    new ServerLink(
      randomId(),
      hub,
      serverId,
      ws,
      {
        onReady: (l) => this.onLinkReady(l),
        onMessage: (l, m) => this.onServerMessage(l, m),
        onClosed: (l, abrupt) => this.onLinkClosed(l, abrupt),
        onRefused: (l, reason) => this.emit("rejected", { where: "/server", reason: `${l.serverId}: ${reason}` }),
      },
      {
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
        pingIntervalMs: this.opts.serverPingIntervalMs,
        timeoutMs: this.opts.serverTimeoutMs,
        maxBufferedBytes: this.opts.maxServerLinkBufferBytes,
      },
    );
  }

  /** A live link of the server, for messages addressed to the server rather than a connection. */
  private linkOfServer(hub: string, serverId: string): ServerLink | undefined {
    return this.hubServer(hub, serverId)?.pickLink();
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

  /**
   * What an app server asks of the service. Data for a connection is accepted from any link of
   * the server that owns the connection (the real SDK writes on whichever of its links is free);
   * the owner is the server, never a single link.
   */
  private onServerMessage(link: ServerLink, m: ServiceMessage): void {
    const hub = link.hub;
    const hs = this.hubServer(hub, link.serverId);
    const ownedBy = (connectionId: string) => {
      const b = this.bindings.get(connectionId);
      return b && b.server === hs ? this.clients.get(connectionId) : undefined;
    };
    const fanOut = (ids: Iterable<string>, p: Payloads, excluded?: ReadonlySet<string>) => {
      for (const id of ids) {
        if (excluded?.has(id)) continue;
        const c = this.clientOf(hub, id);
        const payload = c && this.payloadFor(c, p);
        if (c && payload) this.deliver(c, payload);
      }
    };
    const ack = (ackId: number, ok: boolean, message = "") => link.send({ type: ServiceMessageType.Ack, ackId, status: ok ? AckStatus.Ok : AckStatus.NotFound, message });
    const membership = this.membership(hub);
    switch (m.type) {
      case ServiceMessageType.Ping:
        return this.onServerPing(link, hs, m.pairs);
      case ServiceMessageType.ConnectionData: {
        // Output for a connection that moved away (or left) is discarded, as Azure does.
        const c = ownedBy(m.connectionId);
        if (c) this.deliver(c, m.payload, m.ext);
        return;
      }
      case ServiceMessageType.CloseConnection: {
        const c = ownedBy(m.connectionId);
        if (c) c.close(m.error || undefined);
        return;
      }
      case ServiceMessageType.MultiConnectionData:
        return fanOut(m.connectionIds, m.payloads);
      case ServiceMessageType.UserData:
      case ServiceMessageType.MultiUserData: {
        const users = m.type === ServiceMessageType.UserData ? [m.userId] : m.userIds;
        return fanOut(new Set(users.flatMap((u) => [...membership.connectionsOf(u)])), m.payloads);
      }
      case ServiceMessageType.BroadcastData:
        return fanOut([...this.clients.values()].filter((c) => c.hub === hub).map((c) => c.id), m.payloads, new Set(m.excluded));
      case ServiceMessageType.GroupBroadcastData:
      case ServiceMessageType.MultiGroupBroadcastData: {
        const groups = m.type === ServiceMessageType.GroupBroadcastData ? [m.group] : m.groups;
        const excluded = new Set(m.type === ServiceMessageType.GroupBroadcastData ? m.excluded : []);
        if (m.type === ServiceMessageType.GroupBroadcastData)
          for (const u of m.excludedUsers ?? []) for (const id of membership.connectionsOf(u)) excluded.add(id);
        return fanOut(new Set(groups.flatMap((g) => [...membership.members(g)])), m.payloads, excluded);
      }
      case ServiceMessageType.JoinGroup:
      case ServiceMessageType.LeaveGroup:
      case ServiceMessageType.JoinGroupWithAck:
      case ServiceMessageType.LeaveGroupWithAck: {
        const join = m.type === ServiceMessageType.JoinGroup || m.type === ServiceMessageType.JoinGroupWithAck;
        const c = this.clients.get(m.connectionId);
        const found = c !== undefined && c.hub === hub;
        if (found) this.setGroup(c, m.group, join);
        if (m.type === ServiceMessageType.JoinGroupWithAck || m.type === ServiceMessageType.LeaveGroupWithAck) ack(m.ackId, found, found ? "" : "Connection not found.");
        return;
      }
      case ServiceMessageType.UserJoinGroup:
      case ServiceMessageType.UserLeaveGroup:
      case ServiceMessageType.UserJoinGroupWithAck:
      case ServiceMessageType.UserLeaveGroupWithAck: {
        const join = m.type === ServiceMessageType.UserJoinGroup || m.type === ServiceMessageType.UserJoinGroupWithAck;
        if (join) membership.addUserToGroup(m.userId, m.group);
        else membership.removeUserFromGroup(m.userId, m.group);
        for (const id of membership.connectionsOf(m.userId)) {
          const c = this.clients.get(id);
          if (c) this.setGroup(c, m.group, join);
        }
        if (m.type === ServiceMessageType.UserJoinGroupWithAck || m.type === ServiceMessageType.UserLeaveGroupWithAck) ack(m.ackId, true);
        return;
      }
      case ServiceMessageType.CheckUserInGroupWithAck:
        return ack(m.ackId, [...membership.connectionsOf(m.userId)].some((id) => membership.members(m.group).has(id)) || membership.groupsOfUser(m.userId).has(m.group));
      case ServiceMessageType.CheckGroupExistenceWithAck:
        return ack(m.ackId, membership.members(m.group).size > 0);
      case ServiceMessageType.CheckConnectionExistenceWithAck:
        return ack(m.ackId, this.clients.get(m.connectionId)?.hub === hub);
      case ServiceMessageType.CheckUserExistenceWithAck:
        return ack(m.ackId, membership.connectionsOf(m.userId).size > 0);
      case ServiceMessageType.CloseConnectionWithAck:
      case ServiceMessageType.CloseConnectionsWithAck:
      case ServiceMessageType.CloseUserConnectionsWithAck:
      case ServiceMessageType.CloseGroupConnectionsWithAck: {
        const ids =
          m.type === ServiceMessageType.CloseConnectionWithAck
            ? [m.connectionId]
            : m.type === ServiceMessageType.CloseUserConnectionsWithAck
              ? [...membership.connectionsOf(m.userId)]
              : m.type === ServiceMessageType.CloseGroupConnectionsWithAck
                ? [...membership.members(m.group)]
                : [...this.clients.values()].filter((c) => c.hub === hub).map((c) => c.id);
        const excluded = new Set(m.type === ServiceMessageType.CloseConnectionWithAck ? [] : m.excluded);
        const targets = ids.map((id) => this.clients.get(id)).filter((c): c is ClientConnection => c !== undefined && c.hub === hub && !excluded.has(c.id));
        for (const c of targets) c.close(m.reason || undefined);
        return ack(m.ackId, m.type !== ServiceMessageType.CloseConnectionWithAck || targets.length > 0);
      }
      case ServiceMessageType.ClientInvocation:
        return this.onClientInvocation(link, m.invocationId, m.connectionId, m.callerServerId, m.payloads);
      case ServiceMessageType.ClientCompletion:
      case ServiceMessageType.ErrorCompletion: {
        // From the caller itself it only says "forget it"; from the owner it is the result.
        const p = this.invocations.take(hub, m.invocationId);
        if (p && p.callerServerId !== link.serverId) this.linkOfServer(hub, p.callerServerId)?.send(m);
        return;
      }
      default:
        // Read and ignored: ServiceError/ServiceEvent/ServiceMapping/Ack (service→server kinds), access
        // keys (Entra ID only), stateful-reconnect and flow-control messages, claims refresh, group
        // member queries, and type numbers newer than this codec.
        this.emit("ignored", { serverId: link.serverId, hub, type: m.type });
    }
  }

  private setGroup(c: ClientConnection, group: string, join: boolean): void {
    if (join) {
      c.groups.add(group);
      this.membership(c.hub).join(group, c.id);
    } else {
      c.groups.delete(group);
      this.membership(c.hub).leave(group, c.id);
    }
  }

  private onClientInvocation(link: ServerLink, invocationId: string, connectionId: string, callerServerId: string, payloads: Payloads): void {
    const fail = (error: string) => link.send({ type: ServiceMessageType.ErrorCompletion, invocationId, connectionId, callerServerId, error });
    const c = this.clientOf(link.hub, connectionId);
    const b = this.bindings.get(connectionId);
    const payload = c && this.payloadFor(c, payloads);
    if (!c || !b || !payload) return fail(`Connection '${connectionId}' does not exist.`);
    if (!this.invocations.add({ invocationId, connectionId, hub: link.hub, callerServerId })) return fail("Too many client invocations pending.");
    // The owner's SDK must know the invocation to route the client's completion back.
    if (b.server.serverId !== callerServerId) b.link.send({ type: ServiceMessageType.ClientInvocation, invocationId, connectionId, callerServerId, payloads });
    this.deliver(c, payload);
  }

  private clientOf(hub: string, id: string): ClientConnection | undefined {
    const c = this.clients.get(id);
    return c && c.hub === hub && this.bindings.has(id) ? c : undefined;
  }

  private onServerPing(link: ServerLink, hs: HubServer | undefined, pairs: string[]): void {
    const p = pingPairs(pairs);
    if (p.has(ECHO_PING_KEY)) return link.send({ type: ServiceMessageType.Ping, pairs });
    if (p.has(SERVERS_PING_KEY)) {
      // Server sticky mode asks who else serves the hub: "<ticks>:id1;id2".
      const ids = (this.hubServers.get(link.hub) ?? []).filter((s) => s.online).map((s) => s.serverId);
      const ticks = BigInt(Date.now()) * 10_000n + 621_355_968_000_000_000n;
      return link.send({ type: ServiceMessageType.Ping, pairs: [SERVERS_PING_KEY, `${ticks}:${ids.join(";")}`] });
    }
    const fin = p.get(SHUTDOWN_PING_KEY);
    if (fin === undefined) return; // status (and anything else): informative, no answer
    const mode = modeOfFin(fin);
    if (mode === undefined || !hs) {
      this.emit("rejected", { where: "/server", reason: `${link.serverId}: unknown shutdown ping value '${fin.slice(0, 40)}'.` });
      return;
    }
    // A FIN takes this link's own server offline, whichever of its links it came on.
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
   * Asrs-Migrate-From and the client's handshake replayed (its SDK skips the answer). Same
   * connection id, same groups.
   */
  private migrate(c: ClientConnection, from: HubServer): void {
    const to = this.pickServer(c.hub, from);
    const link = to?.pickLink();
    const old = this.bindings.get(c.id);
    if (!to || !link || !old || !c.handshakeRecord || !c.answered) return; // stays until the old server's timeout drops it
    if (c.hasPartialMessage) {
      c.close("The connection could not be migrated: a message was incomplete.", true);
      return;
    }
    old.link.send({ type: ServiceMessageType.CloseConnection, connectionId: c.id, error: "", headers: { [MIGRATE_TO_HEADER]: [to.serverId] } });
    this.bind(c, to, link, true);
    link.sendMany([
      this.openConnection(c, { ...c.headers, [MIGRATE_FROM_HEADER]: [from.serverId] }),
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
