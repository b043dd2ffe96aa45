// MiniLoadBalancer: the front door real deployments have before their app servers. A client's
// HubConnection keeps one URL for its whole life, so after its server shuts down, its next
// /negotiate must reach a server that is still running: this forwards each HTTP request to
// a running MiniServer, round robin, and skips servers that are shutting down (as a load
// balancer takes a draining instance out of rotation).
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody, sendStatus } from "../service/http-helpers.js";
import type { MiniServer } from "./mini-server.js";

export interface MiniLoadBalancerOptions {
  /** The app servers behind it; read on every request, so servers can come and go. */
  servers: () => readonly MiniServer[];
  port?: number;
}

/** Negotiate requests are small; anything larger is refused rather than buffered. */
const BODY_LIMIT = 64 * 1024;

/**
 * A request handler that forwards to a running server, round robin. A server that stops
 * between the pick and the request is skipped for the next one. Usable on its own, e.g.
 * mounted at `/{hub}/negotiate` on a page's own origin.
 */
export function forwardToRunningServer(servers: () => readonly MiniServer[]): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  let next = 0;
  const forward = (target: MiniServer, req: IncomingMessage, body: Buffer, res: ServerResponse) =>
    new Promise<boolean>((resolve) => {
      const fwd = request({ host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on("end", () => resolve(true));
      });
      fwd.on("error", () => resolve(false));
      fwd.end(body);
    });
  return async (req, res) => {
    let body: Buffer;
    try {
      body = await readBody(req, BODY_LIMIT);
    } catch {
      return sendStatus(res, 413, "Request body too large.");
    }
    const live = servers().filter((s) => s.isRunning);
    for (let tried = 0; tried < live.length; tried++) {
      const target = live[next++ % live.length]!;
      if (target.isRunning && (await forward(target, req, body, res))) return;
      if (res.headersSent) return void res.destroy();
    }
    sendStatus(res, 503, "No app server is running.");
  };
}

export class MiniLoadBalancer {
  private port = 0;

  private constructor(private readonly http: Server) {}

  static async start(o: MiniLoadBalancerOptions): Promise<MiniLoadBalancer> {
    if (typeof o?.servers !== "function") throw new TypeError("MiniLoadBalancer needs `servers: () => MiniServer[]`.");
    const handle = forwardToRunningServer(o.servers);
    const http = createServer((req, res) => void handle(req, res));
    const lb = new MiniLoadBalancer(http);
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

  async stop(): Promise<void> {
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}
