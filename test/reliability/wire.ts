// Low-level probes for the reliability suite: raw HTTP bytes, WebSocket upgrades that
// report the refusal status, and raw server links. Each call is bounded by a timeout, so
// a hang shows up as a failed case, never as a stuck test.
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { WebSocket } from "ws";
import { decodeServiceMessages, encodeServiceMessage, ServiceMessageType, type ServiceMessage } from "../../src/protocol/service-protocol.js";

const DEFAULT_TIMEOUT_MS = 3_000;

export class HangError extends Error {
  override name = "HangError";
}

export function withTimeout<T>(p: Promise<T>, what: string, ms = DEFAULT_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new HangError(`no answer within ${ms} ms: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Writes `request` as-is on a fresh TCP connection and reads the HTTP status of the answer.
 * 0 means the peer closed without answering (allowed only when the request was not HTTP at all).
 */
export function rawHttp(port: number, request: Buffer | string): Promise<number> {
  return withTimeout(
    new Promise<number>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      let head = "";
      const done = () => {
        socket.destroy();
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        resolve(m ? Number(m[1]) : 0);
      };
      socket.on("data", (d: Buffer) => {
        head += d.toString("latin1");
        if (head.includes("\r\n")) done();
      });
      socket.on("error", done);
      socket.on("close", done);
      // Half-close after the request: the server then answers or closes instead of
      // waiting for more (leading blank lines, for one, are legal before a request).
      socket.end(request);
    }),
    `raw HTTP ${JSON.stringify(String(request).slice(0, 80))}`,
  );
}

export type UpgradeOutcome = { status: 101; ws: WebSocket } | { status: number };

/** Opens a WebSocket; resolves with 101 and the socket, or with the HTTP status that refused it. */
export function upgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return withTimeout(
    new Promise<UpgradeOutcome>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once("unexpected-response", (_req, res) => {
        resolve({ status: res.statusCode ?? 0 });
        res.resume();
        ws.terminate();
      });
      ws.once("open", () => resolve({ status: 101, ws }));
      ws.once("error", (e) => reject(e));
    }),
    `upgrade ${url.slice(0, 120)}`,
  );
}

/** A raw server link: every decoded service message it receives, and how it closed. */
export interface RawLink {
  ws: WebSocket;
  received: ServiceMessage[];
  closed: Promise<number>;
  isClosed(): boolean;
  /** Resolves with the first received message matching `pred` (already received counts). */
  next(pred: (m: ServiceMessage) => boolean): Promise<ServiceMessage>;
}

export async function rawLink(wsEndpoint: string, hub: string, token: string): Promise<RawLink> {
  const out = await upgrade(`${wsEndpoint}/server/?hub=${hub}`, { Authorization: `Bearer ${token}` });
  if (out.status !== 101) throw new Error(`server link refused: HTTP ${out.status}`);
  const ws = (out as { ws: WebSocket }).ws;
  const received: ServiceMessage[] = [];
  const waiters: { pred: (m: ServiceMessage) => boolean; resolve: (m: ServiceMessage) => void }[] = [];
  let isClosed = false;
  ws.on("message", (d: Buffer) => {
    for (const m of decodeServiceMessages(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))) {
      received.push(m);
      for (const w of [...waiters]) if (w.pred(m)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
    }
  });
  const closed = new Promise<number>((r) => ws.on("close", (code) => ((isClosed = true), r(code))));
  return {
    ws,
    received,
    closed,
    isClosed: () => isClosed,
    next: (pred) => {
      const hit = received.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** The service-protocol handshake the real app server SDK sends first (its identity is its token's). */
export const linkHandshake = () =>
  encodeServiceMessage({ type: ServiceMessageType.HandshakeRequest, version: 1, connectionType: 0, target: "", migrationLevel: 1, allowStatefulReconnects: false });

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * An HTTP request with node:http: several times cheaper than fetch per call, which matters over
 * thousands of cases. A fresh connection each time unless `keepAlive` (only for body-less
 * requests: a refused request's unread body would otherwise poison the next one on the socket).
 */
export function httpRequest(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; keepAlive?: boolean } = {}): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = request(url, { method: o.method ?? "POST", agent: o.keepAlive ? agent : false, headers: o.headers ?? {} }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end(o.body);
    }),
    `${o.method ?? "POST"} ${url.slice(0, 120)}`,
  );
}
