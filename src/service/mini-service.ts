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
import { PING_RECORD, type HandshakeRequest } from "../protocol/json-hub-protocol.js";
import { TokenError, USER_ID_CLAIM, bearerToken, clientAudience, serverAudience, verifyToken } from "./access-token.js";
import { ClientConnection } from "./client-connection.js";
import { cors, randomId, refuseUpgrade, requestUrl, sendJson, sendStatus } from "./http-helpers.js";
import { HubServer } from "./hub-server.js";
import { Membership } from "./membership.js";
import { negotiateBody, negotiateVersion } from "./negotiate.js";
import { ServerLink } from "./server-link.js";

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
}

export interface ConnectionSnapshot {
  connectionId: string;
  hub: string;
  serverId: string | undefined;
  userId: string | undefined;
  groups: string[];
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
  private readonly opts: Required<Omit<MiniServiceOptions, "port" | "accessKey">>;
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
    };
    for (const [k, v] of Object.entries(this.opts))
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`MiniService option '${k}' must be a positive number, got ${String(v)}.`);
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.http.on("upgrade", (req, socket, head) => void this.onUpgrade(req, socket, head));
    this.http.on("clientError", (_e, socket) => refuseUpgrade(socket, 400, "Bad Request"));
    const tick = Math.max(5, Math.min(this.opts.keepAliveIntervalMs, this.opts.clientTimeoutMs, this.opts.handshakeTimeoutMs) / 3);
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
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- HTTP: negotiate ----------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      cors(req, res);
      if (req.method === "OPTIONS") return sendStatus(res, 204);
      const url = requestUrl(req);
      const path = url.pathname.replace(/\/+$/, "");
      if (path !== "/client/negotiate") return sendStatus(res, 404, "Not found.");
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
      const connectionId = randomId();
      const connectionToken = version >= 1 ? randomId() : connectionId;
      this.negotiated.set(connectionToken, { connectionId, hub, claims, expiresAt: Date.now() + this.opts.negotiateTtlMs });
      sendJson(res, 200, negotiateBody(version, { connectionId, connectionToken }));
    } catch (e) {
      this.emit("rejected", { where: "negotiate", reason: (e as Error).message });
      if (!res.headersSent) sendStatus(res, 500, "Internal error.");
      else res.destroy();
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
        if (token && this.clients.has(this.usedTokens.get(token) ?? "")) return refuseUpgrade(socket, 409, "Conflict");
        this.emit("rejected", { where: "/client", reason: "Unknown connection id." });
        return refuseUpgrade(socket, 404, "Not Found");
      }
      this.negotiated.delete(token!);
      this.usedTokens.set(token!, pending.connectionId);
      this.wss.handleUpgrade(req, socket, head, (ws) => this.acceptClient(ws, pending, claims, req));
    } catch (e) {
      this.emit("rejected", { where: "upgrade", reason: (e as Error).message });
      refuseUpgrade(socket, 500, "Internal Server Error");
    }
  }

  private acceptClient(ws: WebSocket, n: Negotiated, claims: Record<string, string>, req: IncomingMessage): void {
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && k !== "authorization") headers[k] = Array.isArray(v) ? v : [v];
    const conn = new ClientConnection(
      { id: n.connectionId, hub: n.hub, userId: claims[USER_ID_CLAIM], claims, headers, ws, maxMessageBytes: this.opts.maxMessageBytes },
      {
        onHandshake: (c, request, record) => this.onClientHandshake(c, request, record),
        onRecords: (c, records) => this.onClientRecords(c, records),
        onClosed: (c) => this.onClientClosed(c),
      },
    );
    this.clients.set(conn.id, conn);
  }

  private onClientHandshake(c: ClientConnection, request: HandshakeRequest, record: string): void {
    const refuse = (error: string) => {
      this.emit("rejected", { where: "handshake", reason: error });
      c.send(JSON.stringify({ error }) + "\u001e");
      c.close();
    };
    if (request.protocol !== "json") return refuse(`The protocol '${request.protocol}' is not supported.`);
    if (request.version !== 1) return refuse(`The server does not support version ${request.version} of the '${request.protocol}' protocol.`);
    const server = this.pickServer(c.hub);
    const link = server?.pickLink();
    if (!server || !link) return refuse("No server available for this hub.");
    this.bind(c, server, link);
    link.sendMany([
      { type: ServiceMessageType.OpenConnection, connectionId: c.id, claims: c.claims, headers: c.headers },
      { type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: Buffer.from(record) },
    ]);
    if (c.userId !== undefined) this.membership(c.hub).addUser(c.userId, c.id);
    this.emit("clientConnected", { connectionId: c.id, hub: c.hub, serverId: server.serverId, ...(c.userId !== undefined ? { userId: c.userId } : {}) });
  }

  private bind(c: ClientConnection, server: HubServer, link: ServerLink): void {
    this.bindings.get(c.id)?.server.connections.delete(c);
    this.bindings.set(c.id, { server, link });
    server.connections.add(c);
  }

  private onClientRecords(c: ClientConnection, records: string): void {
    const b = this.bindings.get(c.id);
    if (!b) return;
    b.link.send({ type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: Buffer.from(records) });
  }

  private onClientClosed(c: ClientConnection): void {
    this.clients.delete(c.id);
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
    const json = (p: Payloads) => p.json;
    switch (m.type) {
      case ServiceMessageType.Ping:
        return this.onServerPing(link, hs, m.pairs);
      case ServiceMessageType.ConnectionData: {
        // Output for a connection that moved away (or left) is discarded, as Azure does.
        const c = ownedBy(m.connectionId);
        if (!c) return;
        c.answered = true; // the first data from the server is its handshake answer
        return c.send(m.payload);
      }
      case ServiceMessageType.CloseConnection: {
        const c = ownedBy(m.connectionId);
        if (c) c.close(m.error || undefined);
        return;
      }
      case ServiceMessageType.MultiConnectionData: {
        const p = json(m.payloads);
        if (p) for (const id of m.connectionIds) this.clientOf(hub, id)?.send(p);
        return;
      }
      case ServiceMessageType.UserData:
      case ServiceMessageType.MultiUserData: {
        const p = json(m.payloads);
        if (!p) return;
        const users = m.type === ServiceMessageType.UserData ? [m.userId] : m.userIds;
        const ids = new Set(users.flatMap((u) => [...this.membership(hub).connectionsOf(u)]));
        for (const id of ids) this.clientOf(hub, id)?.send(p);
        return;
      }
      case ServiceMessageType.BroadcastData: {
        const p = json(m.payloads);
        if (!p) return;
        const excluded = new Set(m.excluded);
        for (const c of this.clients.values()) if (c.hub === hub && c.answered && !excluded.has(c.id)) c.send(p);
        return;
      }
      case ServiceMessageType.GroupBroadcastData:
      case ServiceMessageType.MultiGroupBroadcastData: {
        const p = json(m.payloads);
        if (!p) return;
        const groups = m.type === ServiceMessageType.GroupBroadcastData ? [m.group] : m.groups;
        const excluded = new Set(m.type === ServiceMessageType.GroupBroadcastData ? m.excluded : []);
        const ids = new Set(groups.flatMap((g) => [...this.membership(hub).members(g)]));
        for (const id of ids) if (!excluded.has(id)) this.clientOf(hub, id)?.send(p);
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
      { type: ServiceMessageType.ConnectionData, connectionId: c.id, payload: Buffer.from(c.handshakeRecord) },
    ]);
    this.emit("clientMigrated", { connectionId: c.id, hub: c.hub, from: from.serverId, to: to.serverId });
  }

  // ---- Timers: keep-alive, client timeout, handshake timeout, negotiate expiry ------

  private sweep(): void {
    const now = Date.now();
    for (const [token, n] of this.negotiated) if (n.expiresAt < now) this.negotiated.delete(token);
    if (this.usedTokens.size > 10_000) this.usedTokens.clear();
    for (const c of [...this.clients.values()]) {
      if (!c.handshakeDone) {
        if (now - c.connectedAt >= this.opts.handshakeTimeoutMs) c.close("Handshake was canceled: no handshake within the timeout.");
        continue;
      }
      if (now - c.lastReceivedAt >= this.opts.clientTimeoutMs) {
        c.close(`Server timeout: nothing received from the client for ${this.opts.clientTimeoutMs} ms.`, true);
        continue;
      }
      if (c.answered && now - c.lastSentAt >= this.opts.keepAliveIntervalMs) c.send(PING_RECORD);
    }
  }
}
