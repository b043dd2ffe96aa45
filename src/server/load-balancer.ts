// MiniLoadBalancer: the front door real deployments have before their app servers. A client's
// HubConnection keeps one URL for its whole life, so after its server shuts down, its next
// /negotiate must reach a server that is still running: this forwards each HTTP request to
// a running MiniServer, round robin, and skips servers that are shutting down (as a load
// balancer takes a draining instance out of rotation).
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { sendStatus } from "../service/http-helpers.js";
import type { MiniServer } from "./mini-server.js";

export interface MiniLoadBalancerOptions {
  /** The app servers behind it; read on every request, so servers can come and go. */
  servers: () => readonly MiniServer[];
  port?: number;
}

export class MiniLoadBalancer {
  private next = 0;
  private port = 0;

  private constructor(
    private readonly http: Server,
    private readonly servers: () => readonly MiniServer[],
  ) {}

  static async start(o: MiniLoadBalancerOptions): Promise<MiniLoadBalancer> {
    if (typeof o?.servers !== "function") throw new TypeError("MiniLoadBalancer needs `servers: () => MiniServer[]`.");
    const http = createServer();
    const lb = new MiniLoadBalancer(http, o.servers);
    http.on("request", (req, res) => {
      const live = lb.servers().filter((s) => s.isRunning);
      if (live.length === 0) return sendStatus(res, 503, "No app server is running.");
      const target = live[lb.next++ % live.length]!;
      const fwd = request(
        { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      fwd.on("error", () => (res.headersSent ? res.destroy() : sendStatus(res, 502, "The app server did not answer.")));
      req.pipe(fwd);
    });
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
