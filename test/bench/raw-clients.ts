// Many hand-driven SignalR clients at low cost: one token for all, negotiate with a keep-alive
// HTTP agent, a bare `ws` socket, the JSON handshake. Used where the real @microsoft/signalr
// client's own per-connection cost would dominate what is measured (broadcast fan-out,
// migration of 1,000 connections, holding 10k connections).
import { WebSocket } from "ws";
import { clientAudience, signToken } from "../../src/testing/index.js";
import { httpRequest } from "../reliability/wire.js";
import { pool } from "./util.js";

export const RS = "\u001e";

export interface RawHubClient {
  ws: WebSocket;
  /** Called with every text frame after the handshake. */
  onText: (text: string) => void;
}

export async function clientToken(endpoint: string, accessKey: string, hub: string): Promise<string> {
  return signToken({ audience: clientAudience(endpoint, hub), accessKey, lifetimeSeconds: 3600 });
}

/** One client through negotiate, upgrade and handshake; rejects on any refusal. */
export async function connectRawClient(endpoint: string, hub: string, token: string): Promise<RawHubClient> {
  const neg = await httpRequest(`${endpoint}/client/negotiate?hub=${hub}&negotiateVersion=1`, { headers: { Authorization: `Bearer ${token}` }, keepAlive: true });
  if (neg.status !== 200) throw new Error(`negotiate: HTTP ${neg.status} ${neg.body.slice(0, 100)}`);
  const { connectionToken } = JSON.parse(neg.body) as { connectionToken: string };
  const ws = new WebSocket(`${endpoint.replace("http", "ws")}/client/?hub=${hub}&id=${connectionToken}`, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
  const client: RawHubClient = { ws, onText: () => {} };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("handshake timed out")), 30_000);
    ws.once("error", (e) => (clearTimeout(timer), reject(e)));
    ws.once("unexpected-response", (_q, res) => (clearTimeout(timer), reject(new Error(`upgrade: HTTP ${res.statusCode}`))));
    ws.once("open", () => ws.send(`{"protocol":"json","version":1}${RS}`));
    ws.on("message", function first(d: Buffer) {
      const text = d.toString();
      if (!text.startsWith("{}" + RS) && !text.startsWith('{"error"')) return;
      ws.off("message", first);
      clearTimeout(timer);
      if (text.startsWith('{"error"')) return reject(new Error(`handshake: ${text}`));
      ws.on("message", (m: Buffer) => client.onText(m.toString()));
      ws.on("error", () => {});
      resolve();
    });
  });
  return client;
}

/** Connects `n` clients, `concurrency` at a time; stops at the first failure and reports it. */
export async function connectMany(endpoint: string, accessKey: string, hub: string, n: number, concurrency = 32, signal?: AbortSignal): Promise<{ clients: RawHubClient[]; error?: string }> {
  const token = await clientToken(endpoint, accessKey, hub);
  const clients: RawHubClient[] = [];
  let error: string | undefined;
  await pool(Array.from({ length: n }), concurrency, async () => {
    if (signal?.aborted) error ??= String(signal.reason);
    if (error) return;
    try {
      clients.push(await connectRawClient(endpoint, hub, token));
    } catch (e) {
      error ??= (e as Error).message;
    }
  });
  return error ? { clients, error } : { clients };
}

export function closeAll(clients: readonly RawHubClient[]): void {
  for (const c of clients) c.ws.terminate();
}
