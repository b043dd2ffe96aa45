// Which backend holds which SignalR connection. A self-hosted ASP.NET Core server keeps each
// connection in its own memory: the negotiate that created it and every later request carrying
// its `?id=<connectionToken>` (the WebSocket, SSE stream, long polls, POSTs, a stateful
// reconnect) must reach the same process. Real deployments get that from sticky sessions; the
// load balancer learns it from the negotiate answer instead, which works for every client.

/** An HTTP server the load balancer can forward to: a MiniServer, a real ASP.NET Core process, anything. */
export interface Backend {
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** False takes it out of rotation for new connections (a draining instance); default true. */
  readonly isRunning?: boolean;
}

export interface Route {
  backend: Backend;
  /** The connection id the negotiate answer gave (differs from the token in negotiate version 1). */
  connectionId: string;
}

/** Beyond this many connections the oldest routes are forgotten (their requests then go round robin and get a 404). */
const MAX_ROUTES = 100_000;

export class ConnectionRoutes {
  private readonly byToken = new Map<string, Route>();

  /** Records the connection a negotiate answer (ASP.NET Core's JSON body) created on `backend`; ignores redirects and errors. */
  learn(body: Buffer, backend: Backend): void {
    let answer: unknown;
    try {
      answer = JSON.parse(body.toString("utf8"));
    } catch {
      return;
    }
    if (typeof answer !== "object" || answer === null) return;
    const { connectionId, connectionToken } = answer as Record<string, unknown>;
    if (typeof connectionId !== "string") return;
    // Negotiate version 0 has no token: the id is what goes in `?id=`.
    const token = typeof connectionToken === "string" ? connectionToken : connectionId;
    if (this.byToken.size >= MAX_ROUTES) this.byToken.delete(this.byToken.keys().next().value!);
    this.byToken.set(token, { backend, connectionId });
  }

  get(token: string): Route | undefined {
    return this.byToken.get(token);
  }

  delete(token: string): void {
    this.byToken.delete(token);
  }
}
