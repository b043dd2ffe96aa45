// Small HTTP helpers shared by the service and the app server.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

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

/** Random bytes drawn 4 KB at a time: one CSPRNG call per 256 ids rather than one per id. */
const randomPool = Buffer.alloc(16 * 256);
let randomAt = randomPool.length;

/** 128 random bits, base64url (22 characters). */
export const randomId = (): string => {
  if (randomAt === randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomAt = 0;
  }
  randomAt += 16;
  return randomPool.toString("base64url", randomAt - 16, randomAt);
};
