// Small HTTP helpers shared by the service and the app server.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/**
 * Which Origins may call with credentials. A function gets the Origin and the request's Host.
 * Default: loopback origins only (http(s)://localhost, 127.0.0.1, [::1], any port), which is
 * also "same origin" for a server that listens on 127.0.0.1.
 */
export type OriginPolicy = readonly string[] | ((origin: string, host: string | undefined) => boolean);

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

export function originAllowed(origin: string, host: string | undefined, policy: OriginPolicy = isLoopbackOrigin): boolean {
  return typeof policy === "function" ? policy(origin, host) : policy.includes(origin);
}

/**
 * Browsers send credentials: an allowed Origin is echoed with credentials allowed (never `*`);
 * any other Origin gets no CORS headers at all, so the browser keeps the answer from its page.
 */
export function cors(req: IncomingMessage, res: ServerResponse, policy?: OriginPolicy): void {
  const origin = req.headers.origin;
  if (origin) res.setHeader("Vary", "Origin");
  if (origin && originAllowed(origin, req.headers.host, policy)) {
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Credentials", "true");
    res.setHeader("Access-Control-Allow-Headers", "authorization, content-type, x-requested-with, x-signalr-user-agent");
    res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: number, text = ""): void {
  res.writeHead(status, { "Content-Type": "text/plain", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Refuses a WebSocket upgrade with a bare HTTP status, before any WebSocket exists. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

/** Reads at most `limit` bytes of body; rejects beyond it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error("Request body too large."));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Parses the request URL against a dummy base; never throws for odd paths. */
export function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://localhost");
  } catch {
    return new URL("http://localhost/");
  }
}

export const randomId = (): string => {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString("base64url");
};
