// MiniLoadBalancer: the front door real deployments have before their app servers. A client's
// HubConnection keeps one URL for its whole life, so after its server shuts down, its next
// /negotiate must reach a server that is still running: new requests go round robin to running
// servers, skipping those shutting down (as a load balancer takes a draining instance out of
// rotation). It fronts any HTTP servers: the kit's MiniServers (which redirect to the service),
// and real self-hosted ASP.NET Core SignalR servers, whose connections live in one process —
// so requests for an existing connection (WebSocket upgrade, SSE, long polling, POSTs, a
// stateful reconnect) go to the server that negotiated it (see connection-routes.ts).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { readBody, refuseUpgrade, requestUrl, sendStatus } from "../service/http-helpers.js";
import { ConnectionRoutes, type Backend, type Route } from "./connection-routes.js";

export type { Backend } from "./connection-routes.js";

export interface MiniLoadBalancerOptions {
  /** The servers behind it (MiniServers, or `{ port, isRunning }` of any HTTP server); read on every request, so servers can come and go. */
  servers: () => readonly Backend[];
  port?: number;
}

/** Bodies of requests that may be retried on another server (negotiate) and negotiate answers are small; larger ones are refused rather than buffered. */
const BODY_LIMIT = 64 * 1024;

/** One client request or socket held open through the balancer, as far as a cut is concerned. */
interface Tunnel {
  connectionId: string | undefined;
  cut(): void;
}

/** Forwards requests and WebSocket upgrades; knows which server holds which connection. */
class Forwarder {
  private next = 0;
  private readonly routes = new ConnectionRoutes();
  readonly tunnels = new Set<Tunnel>();

  constructor(private readonly servers: () => readonly Backend[]) {}

  /** Running servers, starting with the next one in round-robin order. */
  private rotation(): Backend[] {
    const live = this.servers().filter((s) => s.isRunning !== false);
    const start = live.length ? this.next++ % live.length : 0;
    return [...live.slice(start), ...live.slice(0, start)];
  }

  /** The route of a connection token, while its server is still listed. */
  private lookup(token: string | null): Route | undefined {
    if (!token) return undefined;
    const route = this.routes.get(token);
    if (route && !this.servers().includes(route.backend)) {
      this.routes.delete(token);
      return undefined;
    }
    return route;
  }

  private track(tunnel: Tunnel, closed: { once(e: "close", f: () => void): unknown }): void {
    this.tunnels.add(tunnel);
    closed.once("close", () => this.tunnels.delete(tunnel));
  }

  readonly request = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req);
    const token = url.searchParams.get("id");
    if (token !== null) return this.pipeRequest(req, res, token);
    let body: Buffer;
    try {
      body = await readBody(req, BODY_LIMIT);
    } catch {
      return sendStatus(res, 413, "Request body too large.");
    }
    const negotiate = url.pathname.endsWith("/negotiate");
    for (const target of this.rotation()) {
      const up = await exchange(target, req, body);
      if (!up) continue; // refused: stopped between the pick and the request; try the next
      if (negotiate && up.statusCode === 200) {
        let answer: Buffer;
        try {
          answer = await readBody(up, BODY_LIMIT);
        } catch {
          return sendStatus(res, 502, "Negotiate answer too large.");
        }
        this.routes.learn(answer, target);
        const headers = { ...up.headers, "content-length": String(answer.length) };
        delete headers["transfer-encoding"];
        res.writeHead(200, headers);
        return void res.end(answer);
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      return;
    }
    sendStatus(res, 503, "No app server is running.");
  };

  /** A request for an existing connection (SSE stream, long poll, POST, DELETE): streamed both ways to its server. */
  private pipeRequest(req: IncomingMessage, res: ServerResponse, token: string): void {
    const route = this.lookup(token);
    const target = route?.backend ?? this.rotation()[0];
    if (!target) return sendStatus(res, 503, "No app server is running.");
    const up = request({ host: target.host ?? "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers });
    up.on("response", (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => {
      // Its server is gone, and the connection with it: what ASP.NET Core answers for an unknown id.
      if (!res.headersSent) sendStatus(res, 404, "No Connection with that ID");
      else res.destroy();
    });
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    this.track({ connectionId: route?.connectionId, cut: () => (req.socket.resetAndDestroy(), up.destroy()) }, res);
    req.pipe(up);
  }

  /** A WebSocket upgrade: a raw TCP tunnel to the connection's server (or the next running one). */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const route = this.lookup(requestUrl(req).searchParams.get("id"));
    const target = route?.backend ?? this.rotation()[0];
    if (!target) return refuseUpgrade(socket, 503, "Service Unavailable");
    const client = socket as Socket;
    const up = connect({ host: target.host ?? "127.0.0.1", port: target.port });
    let open = false;
    up.once("connect", () => {
      open = true;
      up.write(requestHead(req));
      if (head.length) up.write(head);
      client.pipe(up);
      up.pipe(client);
    });
    up.on("error", () => (open ? client.destroy() : refuseUpgrade(client, route ? 404 : 502, route ? "Not Found" : "Bad Gateway")));
    // A clean close on one side ends the other once its last bytes are through (pipe ends it);
    // an error (or a cut) tears the other side down at once.
    client.on("error", () => up.destroy());
    client.on("close", (hadError) => (hadError ? up.destroy() : up.end()));
    up.on("close", (hadError) => (hadError ? client.destroy() : client.end()));
    this.track({ connectionId: route?.connectionId, cut: () => (client.resetAndDestroy(), up.destroy()) }, client);
  };

  count(connectionId?: string): number {
    let n = 0;
    for (const t of this.tunnels) if (connectionId === undefined || t.connectionId === connectionId) n++;
    return n;
  }

  /** Drops open client connections abruptly (a TCP reset), as a network failure would. */
  cut(connectionId?: string): number {
    let n = 0;
    for (const t of [...this.tunnels]) {
      if (connectionId !== undefined && t.connectionId !== connectionId) continue;
      this.tunnels.delete(t);
      t.cut();
      n++;
    }
    return n;
  }
}

/** The request line and headers as the client sent them (for a tunnelled upgrade). */
function requestHead(req: IncomingMessage): string {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < req.rawHeaders.length; i += 2) head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
  return head + "\r\n";
}

/** Sends a buffered request; resolves with the response, or undefined when the server could not be reached. */
function exchange(target: Backend, req: IncomingMessage, body: Buffer): Promise<IncomingMessage | undefined> {
  return new Promise((resolve) => {
    const fwd = request({ host: target.host ?? "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers }, resolve);
    fwd.on("error", () => resolve(undefined));
    fwd.end(body);
  });
}

/**
 * A request handler that forwards to a running server, round robin; a server that stops
 * between the pick and the request is skipped for the next one. Usable on its own, e.g.
 * mounted at `/{hub}/negotiate` on a page's own origin.
 */
export function forwardToRunningServer(servers: () => readonly Backend[]): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return new Forwarder(servers).request;
}

export class MiniLoadBalancer {
  /** The port it listens on (127.0.0.1). */
  port = 0;

  private constructor(
    private readonly http: Server,
    private readonly forwarder: Forwarder,
  ) {}

  static async start(o: MiniLoadBalancerOptions): Promise<MiniLoadBalancer> {
    if (typeof o?.servers !== "function") throw new TypeError("MiniLoadBalancer needs `servers: () => Backend[]` (MiniServers or { port } objects).");
    const forwarder = new Forwarder(o.servers);
    const http = createServer((req, res) => void forwarder.request(req, res));
    http.on("upgrade", forwarder.upgrade);
    const lb = new MiniLoadBalancer(http, forwarder);
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(o.port ?? 0, "127.0.0.1", () => resolve());
    });
    lb.port = (http.address() as AddressInfo).port;
    return lb;
  }

  /** The URL to give `HubConnectionBuilder.withUrl()`: it outlives any one server. */
  url(hub: string): string {
    return `http://127.0.0.1:${this.port}/${hub}`;
  }

  /**
   * Test hook: resets the TCP connections of the given SignalR connection (all connections
   * when no id is given) that pass through the balancer — a transient network drop. Servers
   * and routes stay, so a client's stateful reconnect reaches the same server. Returns how many
   * were cut. Only connections this balancer negotiated have an id it knows.
   */
  cutConnections(connectionId?: string): number {
    return this.forwarder.cut(connectionId);
  }

  /** How many WebSockets and streaming requests (SSE, long polls, POSTs) of a connection (of all, without an id) are open through it. */
  openConnections(connectionId?: string): number {
    return this.forwarder.count(connectionId);
  }

  async stop(): Promise<void> {
    this.forwarder.cut();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
