// A hand-driven client for bad-input tests: negotiates like the real client, then lets
// the test write any bytes it likes.
import { WebSocket } from "ws";
import type { MiniServer, MiniService } from "../../src/testing/index.js";

export async function redirect(server: MiniServer, hub = "chat", user?: string): Promise<{ url: string; accessToken: string }> {
  const res = await fetch(server.url(hub) + "/negotiate?negotiateVersion=1" + (user ? `&user=${user}` : ""), { method: "POST" });
  return (await res.json()) as { url: string; accessToken: string };
}

export async function negotiateAtService(service: MiniService, token: string, hub = "chat"): Promise<{ connectionId: string; connectionToken: string }> {
  const res = await fetch(`${service.endpoint}/client/negotiate?hub=${hub}&negotiateVersion=1`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  return (await res.json()) as { connectionId: string; connectionToken: string };
}

export interface RawSocket {
  ws: WebSocket;
  /** Every text frame received, in order. */
  received: string[];
  /** Resolves with the first received frame containing `needle`. */
  waitFor(needle: string): Promise<string>;
  closed: Promise<number>;
}

export function rawSocket(url: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, { headers });
  const received: string[] = [];
  const waiters: { needle: string; resolve: (s: string) => void }[] = [];
  ws.on("message", (d: Buffer) => {
    const text = d.toString("utf8");
    received.push(text);
    for (const w of [...waiters]) if (text.includes(w.needle)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(text));
  });
  const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  return new Promise((resolve, reject) => {
    ws.once("unexpected-response", (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        received,
        closed,
        waitFor: (needle) => {
          const hit = received.find((t) => t.includes(needle));
          return hit ? Promise.resolve(hit) : new Promise((r) => waiters.push({ needle, resolve: r }));
        },
      }),
    );
  });
}

/** A raw client through negotiate, connected, handshake not yet sent. */
export async function rawClient(server: MiniServer, service: MiniService, hub = "chat"): Promise<RawSocket> {
  const r = await redirect(server, hub);
  const n = await negotiateAtService(service, r.accessToken, hub);
  return rawSocket(`${service.endpoint.replace("http", "ws")}/client/?hub=${hub}&id=${n.connectionToken}`, { Authorization: `Bearer ${r.accessToken}` });
}
