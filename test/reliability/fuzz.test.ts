// Property-based malformed input against every endpoint of the kit: the app server's
// negotiate, the service's negotiate, WebSocket upgrades, handshakes, hub frames and
// server-link frames. Each case must get its clear error (4xx, handshake error, Close
// with an error, link closed 1008) or be served; never a 5xx, never a hang. A healthy real
// client on the same kit must keep echoing between batches, and vitest fails the run on
// any unhandled rejection or uncaught exception, so "the process survives" is checked too.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { jwtVerify, SignJWT } from "jose";
import type { HubConnection } from "@microsoft/signalr";
import { Hub, clientAudience, serverAudience, signToken } from "../../src/testing/index.js";
import { frame } from "../../src/protocol/varint-framing.js";
import { encodeServiceMessage, ServiceMessageType, type ServiceMessage } from "../../src/protocol/service-protocol.js";
import { startKit, type Kit } from "../e2e/kit.js";
import { negotiateAtService, rawSocket, type RawSocket } from "../e2e/raw-client.js";
import { httpRequest, linkHandshake, rawHttp, rawLink, upgrade, withTimeout, type RawLink } from "./wire.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

const RS = "\u001e";
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let kit: Kit;
let healthy: HubConnection;
let ep: string; // http://127.0.0.1:port of the service
let wsEp: string;
let appBase: string; // http://127.0.0.1:port of the app server
const tokens: Record<string, string> = {};
const counts = new Map<string, number>();
let total = 0;

/** Counts a case; every 100 cases the healthy client must still echo. */
async function tick(group: string): Promise<void> {
  counts.set(group, (counts.get(group) ?? 0) + 1);
  if (++total % 100 === 0) expect(await withTimeout(healthy.invoke("Echo", total), "healthy client echo")).toBe(total);
}

const run = <T>(arb: fc.Arbitrary<T>, numRuns: number, body: (v: T) => Promise<void>) =>
  fc.assert(fc.asyncProperty(arb, body), { numRuns, seed: SEED, endOnFailure: true });

beforeAll(async () => {
  kit = await startKit({ hubs: { chat: Chat } });
  healthy = await kit.connect();
  ep = kit.service.endpoint;
  wsEp = ep.replace("http", "ws");
  appBase = kit.servers[0]!.url("chat").replace(/\/chat$/, "");
  const key = kit.service.accessKey;
  const secret = new TextEncoder().encode(key);
  const now = Math.floor(Date.now() / 1000);
  tokens.good = await signToken({ audience: clientAudience(ep, "chat"), accessKey: key, userId: "fuzzer" });
  tokens.server = await signToken({ audience: serverAudience(ep, "chat"), accessKey: key });
  tokens.fuzzServer = await signToken({ audience: serverAudience(ep, "fuzz"), accessKey: key });
  tokens.wrongKey = await signToken({ audience: clientAudience(ep, "chat"), accessKey: key + "x" });
  tokens.otherHub = await signToken({ audience: clientAudience(ep, "other"), accessKey: key });
  tokens.expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience(clientAudience(ep, "chat")).setExpirationTime(now - 120).sign(secret);
  tokens.notYet = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience(clientAudience(ep, "chat")).setNotBefore(now + 600).sign(secret);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  tokens.algNone = `${b64({ alg: "none", typ: "JWT" })}.${b64({ aud: clientAudience(ep, "chat"), exp: now + 600 })}.`;
});

afterEach(async () => {
  expect(await withTimeout(healthy.invoke("Echo", "still here"), "healthy client echo")).toBe("still here");
});

afterAll(async () => {
  const detail = [...counts].map(([g, n]) => `${g} ${n}`).join(", ");
  console.log(`fuzz: ${total} cases (${detail}); seed ${SEED}`);
  await kit?.close();
});

// ---- shared arbitraries -------------------------------------------------------------

const URL_CHARS = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%"];
const urlish = fc.string({ unit: fc.constantFrom(...URL_CHARS), maxLength: 24 });
const query = fc.array(fc.tuple(fc.constantFrom("hub", "negotiateVersion", "user", "id", "access_token", "x"), fc.oneof(urlish, fc.string({ maxLength: 12 }))), { maxLength: 4 });
const qs = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&");

/** A token: one of the prepared ones, a mutation of the good one, or garbage. */
const tokenArb = fc.oneof(
  fc.constantFrom("good", "wrongKey", "otherHub", "expired", "notYet", "algNone", "server").map((k) => tokens[k]!),
  fc.tuple(fc.nat(), fc.constantFrom(..."AZaz09-_.")).map(([i, ch]) => {
    const t = tokens.good!;
    const at = i % t.length;
    return t.slice(0, at) + ch + t.slice(at + 1);
  }),
  fc.string({ unit: fc.constantFrom(...URL_CHARS, "."), maxLength: 60 }),
  fc.constant(""),
);

/**
 * The oracle for tokens is the JWT spec as jose implements it, not the kit's code path, plus the
 * two audience rules Azure applies (docs/emulator.md): hub names are case-insensitive (the real
 * SDK signs `hub=<lower-case hub>`), and an audience without the port names the endpoint too.
 */
async function tokenValid(token: string | undefined, audience: string): Promise<boolean> {
  if (!token) return false;
  const portless = audience.replace(/^(https?:\/\/[^/:]+):\d+/, "$1");
  const accepted = new Set([audience, portless].map((a) => a.toLowerCase()));
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(kit.service.accessKey), { algorithms: ["HS256"] });
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return auds.some((a) => typeof a === "string" && accepted.has(a.toLowerCase()));
  } catch {
    return false;
  }
}

const noBodyMethods = new Set(["GET", "HEAD"]);

// ---- HTTP ----------------------------------------------------------------------------

describe("HTTP endpoints", () => {
  it("app server negotiate: paths, methods, queries, bodies", async () => {
    const hubSeg = fc.oneof(fc.constantFrom("chat", "Chat", "%63hat", "ch%61t", "nohub", "", "%zz", "%E0%A4%A", "chat%2F", "..", "."), urlish);
    const arb = fc.record({
      method: fc.constantFrom("POST", "POST", "GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"),
      prefix: fc.constantFrom("", "", "/x", "/"),
      hub: hubSeg,
      tail: fc.constantFrom("/negotiate", "/negotiate/", "/negotiate//", "/negotiatex", "", "/negotiate/more"),
      query,
      body: fc.option(fc.string({ maxLength: 300 })),
    });
    await run(arb, 300, async (r) => {
      const url = `${appBase}${r.prefix}/${r.hub}${r.tail}?${qs(r.query)}`;
      const res = await httpRequest(url, { method: r.method, ...(r.body !== null && !noBodyMethods.has(r.method) ? { body: r.body } : {}) });
      expect(res.status, `${r.method} ${url}`).toBe(expectedAppNegotiate(r.method, new URL(url).pathname));
      await tick("app-negotiate");
    });
  });

  it("service negotiate: paths, methods, queries, tokens, bodies", async () => {
    const arb = fc.record({
      method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD"),
      path: fc.oneof(fc.constantFrom("/client/negotiate", "/client/negotiate/", "/client/negotiate//", "/client", "/server/negotiate", "/negotiate"), urlish.map((s) => `/client/${s}`)),
      hub: fc.option(fc.oneof(fc.constantFrom("chat", "chat", "", "Chat", "other"), urlish), { nil: undefined }),
      version: fc.option(fc.oneof(fc.constantFrom("0", "1", "2", "9999", "10000", "-1", "1.0", "", "abc"), urlish), { nil: undefined }),
      token: fc.option(tokenArb, { nil: undefined }),
      inHeader: fc.boolean(),
      body: fc.oneof(fc.constant(null), fc.string({ maxLength: 200 }), fc.constant("x".repeat(70_000))),
    });
    await run(arb, 400, async (r) => {
      const q: string[] = [];
      if (r.hub !== undefined) q.push(`hub=${encodeURIComponent(r.hub)}`);
      if (r.version !== undefined) q.push(`negotiateVersion=${encodeURIComponent(r.version)}`);
      const headerOk = r.token !== undefined && /^[\x21-\x7e]*$/.test(r.token);
      const viaHeader = r.inHeader && headerOk;
      if (r.token !== undefined && !viaHeader) q.push(`access_token=${encodeURIComponent(r.token)}`);
      const url = `${ep}${r.path}?${q.join("&")}`;
      // fetch here: node:http's client trips over a server that answers before reading a big body.
      const res = await withTimeout(
        fetch(url, {
          method: r.method,
          ...(viaHeader ? { headers: { Authorization: `Bearer ${r.token}` } } : {}),
          ...(r.body !== null && !noBodyMethods.has(r.method) ? { body: r.body } : {}),
        }),
        url,
      );
      const text = await res.text();
      const want = await expectedServiceNegotiate(r.method, new URL(url), r.token, r.body?.length ?? 0);
      expect(res.status, `${r.method} ${url}`).toBe(want);
      if (want === 200) expect(JSON.parse(text)).toHaveProperty("connectionId");
      if ((want === 400 || want === 413 || want === 503) && r.path.startsWith("/client/negotiate")) expect(JSON.parse(text)).toHaveProperty("error");
      await tick("service-negotiate");
    });
  });

  it("garbage HTTP requests on both ports get a 4xx, never a 5xx", async () => {
    const servicePort = Number(new URL(ep).port);
    const appPort = Number(new URL(appBase).port);
    const requestLine = fc.tuple(
      fc.oneof(fc.constantFrom("POST", "GET", "PUT", "OPTIONS", "BREW", "post", ""), fc.string({ maxLength: 8 })),
      fc.oneof(urlish.map((s) => `/${s}`), fc.string({ maxLength: 40 }), fc.constantFrom("/chat/negotiate", "/client/negotiate?hub=chat", "*", "http://x/")),
      fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", ""),
      fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })), { maxLength: 3 }),
    );
    const arb = fc.record({
      port: fc.constantFrom(servicePort, appPort),
      request: fc.oneof(
        requestLine.map(([m, p, v, hs]) => `${m} ${p} ${v}\r\nHost: x\r\n${hs.map(([k, val]) => `${k}: ${val}\r\n`).join("")}Content-Length: 0\r\n\r\n`),
        fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.concat([Buffer.from(b), Buffer.from("\r\n\r\n")])),
      ),
    });
    await run(arb, 200, async ({ port, request }) => {
      const status = await rawHttp(port, request);
      // 0: the parser dropped the connection without a word, which Node does for some
      // bytes that are not HTTP at all; anything answered must be a 2xx-4xx.
      expect(status === 0 || (status >= 200 && status < 500), `status ${status} for ${JSON.stringify(String(request).slice(0, 100))}`).toBe(true);
      await tick("raw-http");
    });
  });
});

function expectedAppNegotiate(method: string, pathname: string): number {
  if (method === "OPTIONS") return 204;
  const m = /^\/([^/]+)\/negotiate\/?$/.exec(pathname);
  let hub: string | undefined;
  try {
    hub = m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    hub = undefined;
  }
  if (hub !== "chat") return 404;
  return method === "POST" ? 200 : 405;
}

async function expectedServiceNegotiate(method: string, url: URL, token: string | undefined, bodyLength: number): Promise<number> {
  if (method === "OPTIONS") return 204;
  const path = url.pathname.replace(/\/+$/, "");
  // `/client` is the SSE / long-polling endpoint: hub, token, then a connection id (never sent here).
  if (path === "/client") {
    const hub = url.searchParams.get("hub");
    if (!hub) return 400;
    if (!(await tokenValid(token, clientAudience(ep, hub)))) return 401;
    return 400;
  }
  if (path !== "/client/negotiate") return 404;
  if (method !== "POST") return 405;
  const hub = url.searchParams.get("hub");
  if (!hub) return 400;
  const v = url.searchParams.get("negotiateVersion");
  if (v !== null && !/^\d{1,4}$/.test(v)) return 400;
  if (!(await tokenValid(token, clientAudience(ep, hub)))) return 401;
  if (bodyLength > 64 * 1024) return 413;
  // A valid token for a hub with no app server: the service's deliberate "No server available".
  return hub === "chat" ? 200 : 503;
}

// ---- WebSocket upgrades ----------------------------------------------------------------

describe("WebSocket upgrades", () => {
  it("client and server endpoints: paths, hubs, ids, tokens", async () => {
    // A connected raw client whose connection token must now be refused with 409.
    const taken = await negotiateAtService(kit.service, tokens.good!);
    const holder = await rawSocket(`${wsEp}/client/?hub=chat&id=${taken.connectionToken}`, { Authorization: `Bearer ${tokens.good}` });
    holder.ws.send(`{"protocol":"json","version":1}${RS}`);
    const arb = fc.record({
      path: fc.oneof(fc.constantFrom("/client", "/client/", "/client", "/server", "/server/", "/", "/clients", "/client/negotiate"), urlish.map((s) => `/${s}`)),
      hub: fc.option(fc.oneof(fc.constantFrom("chat", "chat", "chat", "", "other"), urlish), { nil: undefined }),
      id: fc.oneof(fc.constantFrom("fresh", "fresh", "taken", "none"), urlish),
      token: fc.option(fc.oneof(tokenArb, fc.constant(tokens.server!)), { nil: undefined }),
      inHeader: fc.boolean(),
    });
    await run(arb, 250, async (r) => {
      let id: string | undefined;
      if (r.id === "fresh") id = (JSON.parse((await httpRequest(`${ep}/client/negotiate?hub=chat&negotiateVersion=1`, { headers: { Authorization: `Bearer ${tokens.good}` }, keepAlive: true })).body) as { connectionToken: string }).connectionToken;
      else if (r.id === "taken") id = taken.connectionToken;
      else if (r.id !== "none") id = r.id;
      const q: string[] = [];
      if (r.hub !== undefined) q.push(`hub=${encodeURIComponent(r.hub)}`);
      if (id !== undefined) q.push(`id=${encodeURIComponent(id)}`);
      const viaHeader = r.inHeader && r.token !== undefined && /^[\x21-\x7e]+$/.test(r.token);
      if (r.token !== undefined && !viaHeader) q.push(`access_token=${encodeURIComponent(r.token)}`);
      const url = `${wsEp}${r.path}?${q.join("&")}`;
      const out = await upgrade(url, viaHeader ? { Authorization: `Bearer ${r.token}` } : {});
      if ("ws" in out) out.ws.terminate();
      const want = await expectedUpgrade(new URL(url), r.token, r.id === "fresh", r.id === "taken" || id === taken.connectionToken);
      expect(out.status, url).toBe(want);
      await tick("upgrade");
    });
    holder.ws.close();
  });
});

async function expectedUpgrade(url: URL, token: string | undefined, fresh: boolean, taken: boolean): Promise<number> {
  const path = url.pathname.replace(/\/+$/, "");
  const hub = url.searchParams.get("hub");
  if ((path !== "/client" && path !== "/server") || !hub) return 404;
  const audience = path === "/client" ? clientAudience(ep, hub) : serverAudience(ep, hub);
  if (!(await tokenValid(token, audience))) return 401;
  if (path === "/server") return 101;
  if (fresh && hub === "chat") return 101;
  return taken ? 409 : 404;
}

// ---- Handshake and hub frames ----------------------------------------------------------

async function freshSocket(): Promise<RawSocket> {
  const n = JSON.parse((await httpRequest(`${ep}/client/negotiate?hub=chat&negotiateVersion=1`, { headers: { Authorization: `Bearer ${tokens.good}` }, keepAlive: true })).body) as { connectionToken: string };
  return rawSocket(`${wsEp}/client/?hub=chat&id=${n.connectionToken}`, { Authorization: `Bearer ${tokens.good}` });
}

/** Keeps a few sockets connecting ahead of use: most bad cases cost their socket, and opening one is the slow part. */
function socketPool(prepare: (s: RawSocket) => Promise<RawSocket> = async (s) => s, ahead = 6) {
  const queue: Promise<RawSocket>[] = [];
  const fill = () => {
    while (queue.length < ahead) {
      const p = freshSocket().then(prepare);
      p.catch(() => {}); // surfaced when taken
      queue.push(p);
    }
  };
  return {
    take(): Promise<RawSocket> {
      fill();
      const next = queue.shift()!;
      fill();
      return next;
    },
    async drain(): Promise<void> {
      for (const p of queue.splice(0)) (await p.catch(() => undefined))?.ws.terminate();
    },
  };
}

const handshaken = async (s: RawSocket) => {
  s.ws.send(`{"protocol":"json","version":1}${RS}`);
  expect(await firstRecord(s)).toBe("{}");
  return s;
};

const firstRecord = (s: RawSocket) => withTimeout(s.waitFor(RS), "first record").then((t) => t.split(RS)[0]!);

describe("client frames", () => {
  it("handshake records", async () => {
    const shaped = fc
      .record({
        protocol: fc.oneof(fc.constantFrom("json", "json", "messagepack", "JSON", ""), fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
        version: fc.oneof(fc.constantFrom(1, 1, 0, 2, 1.5, -1), fc.string({ maxLength: 3 }), fc.constant(null), fc.double()),
      }, { requiredKeys: [] })
      .map((o) => JSON.stringify(o));
    const arb = fc.oneof(shaped, fc.json({ maxDepth: 2 }), fc.string({ maxLength: 60 }));
    const pool = socketPool();
    await run(arb, 200, async (text) => {
      const s = await pool.take();
      s.ws.send(text.includes(RS) ? text : text + RS);
      const answer = await firstRecord(s);
      if (handshakeOk(text.split(RS)[0]!)) expect(answer).toBe("{}");
      else {
        expect(JSON.parse(answer), `handshake ${JSON.stringify(text)}`).toEqual({ error: expect.any(String) });
        await withTimeout(s.closed, "close after handshake error");
      }
      s.ws.terminate();
      await tick("handshake");
    });
    await pool.drain();
  });

  it("hub frames after a good handshake: JSON, shaped messages, separators, bytes", async () => {
    let sock: RawSocket | undefined;
    let probeN = 0;
    let sockets = 0;
    const pool = socketPool(handshaken);
    // Cases share a socket until one of them gets it closed.
    const open = async () => {
      if (sock && sock.ws.readyState === sock.ws.OPEN) return sock;
      sock = await pool.take();
      sockets++;
      return sock;
    };
    const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constant(undefined));
    const shaped = fc
      .record({
        type: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom("1", null, 1.5, -1, 99)),
        invocationId: anyValue,
        target: fc.oneof(fc.constantFrom("Echo", "echo", "", "Nope", "onConnected", "constructor"), fc.string({ maxLength: 8 }), fc.integer()),
        arguments: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 2 }), anyValue),
        streamIds: anyValue,
        sequenceId: anyValue,
        error: anyValue,
        result: anyValue,
        allowReconnect: anyValue,
      }, { requiredKeys: [] })
      .map((o) => JSON.stringify(o));
    const piece = fc.oneof(shaped, fc.json({ maxDepth: 2 }), fc.string({ maxLength: 20 }), fc.constant(RS));
    const arb = fc.oneof(
      { weight: 3, arbitrary: shaped.map((t) => ({ text: t + RS })) },
      { weight: 2, arbitrary: fc.json({ maxDepth: 3 }).map((t) => ({ text: t + RS })) },
      { weight: 3, arbitrary: fc.array(piece, { minLength: 1, maxLength: 6 }).map((ps) => ({ text: ps.join("") })) },
      { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => ({ bytes: b })) },
    );
    await run(arb, 700, async (input) => {
      const s = await open();
      const before = s.received.length;
      const probe = `probe-${++probeN}`;
      let text = "";
      if ("bytes" in input) s.ws.send(Buffer.from(input.bytes), { binary: true });
      else {
        // Terminate a trailing partial record so every case ends on a record boundary.
        text = input.text.endsWith(RS) ? input.text : input.text + RS;
        s.ws.send(text);
      }
      s.ws.send(JSON.stringify({ type: 1, invocationId: probe, target: "Echo", arguments: [probeN] }) + RS);
      const outcome = await withTimeout(
        Promise.race([s.waitFor(`"invocationId":"${probe}"`).then(() => "served" as const), s.closed.then(() => "closed" as const)]),
        `hub frame ${JSON.stringify(text.slice(0, 100))}`,
      );
      const records = text.split(RS).slice(0, -1);
      const why = `input ${JSON.stringify("bytes" in input ? "<binary>" : text.slice(0, 200))}`;
      if (outcome === "served") {
        expect("bytes" in input || mustFail(records), `served although invalid: ${why}`).toBe(false);
      } else {
        const after = s.received.slice(before).join("").split(RS).filter(Boolean).map((r) => JSON.parse(r) as { type?: number; error?: unknown });
        const closeWithError = after.some((m) => m.type === 7 && typeof m.error === "string" && m.error.startsWith("Connection closed with an error."));
        // A Close record from the client itself ends the connection without an error.
        expect(closeWithError || (!("bytes" in input) && asksToClose(records)), `closed without an error: ${why}`).toBe(true);
      }
      await tick("hub-frame");
    });
    sock?.ws.terminate();
    await pool.drain();
    expect(sockets).toBeGreaterThan(0);
  });
});

function handshakeOk(record: string): boolean {
  try {
    const v = JSON.parse(record) as { protocol?: unknown; version?: unknown };
    // Both hub protocols, versions 1 and 2 (2 is stateful reconnect's), as the service speaks them.
    return typeof v === "object" && v !== null && !Array.isArray(v) && (v.protocol === "json" || v.protocol === "messagepack") && (v.version === 1 || v.version === 2);
  } catch {
    return false;
  }
}

/** Records that the JSON hub protocol rejects whatever their fields: not JSON, not an object, unknown type. */
function mustFail(records: string[]): boolean {
  for (const r of records) {
    let v: unknown;
    try {
      v = JSON.parse(r);
    } catch {
      return true;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) return true;
    const t = (v as { type?: unknown }).type;
    if (!(typeof t === "number" && Number.isInteger(t) && t >= 1 && t <= 9)) return true;
    if (t === 7) return false; // the connection ends here; later records are never read
  }
  return false;
}

function asksToClose(records: string[]): boolean {
  return records.some((r) => {
    try {
      return (JSON.parse(r) as { type?: unknown })?.type === 7;
    } catch {
      return false;
    }
  });
}

// ---- Server links ----------------------------------------------------------------------

/** Service-protocol arrays: a real message type up front (mostly), random fields after it. */
const field = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.uint8Array({ maxLength: 16 }),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }), fc.uint8Array({ maxLength: 8 })), { maxKeys: 3 }),
);
const msgArray = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 21 }) }, { weight: 1, arbitrary: field }), fc.array(field, { maxLength: 6 })).map(([t, rest]) => [t, ...rest]);
const framed = (arrays: unknown[][]) => Buffer.concat(arrays.map((a) => Buffer.from(frame(encode(a)))));
const linkFrame = fc.oneof(
  { weight: 4, arbitrary: fc.array(msgArray, { minLength: 1, maxLength: 3 }).map(framed) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b)) },
  // A valid frame with its length prefix or tail damaged.
  { weight: 1, arbitrary: fc.tuple(msgArray, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([a, i, b]) => { const f = framed([a]); f[i % f.length] = b; return f; }) },
  { weight: 1, arbitrary: fc.tuple(msgArray, fc.nat()).map(([a, n]) => { const f = framed([a]); return f.subarray(0, 1 + (n % (f.length - 1))); }) },
);

describe("server links", () => {
  it("first frames before the service-protocol handshake", async () => {
    await run(linkFrame, 150, async (bytes) => {
      const link = await rawLink(wsEp, "fuzz", tokens.fuzzServer!);
      link.ws.send(bytes);
      const outcome = await withTimeout(
        Promise.race([link.closed.then((code) => ({ code })), link.next((m) => m.type === ServiceMessageType.HandshakeResponse).then((m) => ({ m }))]),
        "link first frame",
      );
      if ("code" in outcome) expect(outcome.code).toBe(1008);
      else if ((outcome.m as { error: string | null }).error !== null) expect(await withTimeout(link.closed, "link close")).toBe(1008);
      else await expectLinkAlive(link, 1);
      link.ws.terminate();
      await tick("link-first-frame");
    });
  });

  it("frames after a good handshake (on a hub no client uses, so broadcasts reach nobody)", async () => {
    let link: RawLink | undefined;
    let ackId = 0;
    const open = async () => {
      if (link && !link.isClosed()) return link;
      link = await rawLink(wsEp, "fuzz", tokens.fuzzServer!);
      link.ws.send(linkHandshake());
      expect(await withTimeout(link.next((m) => m.type === ServiceMessageType.HandshakeResponse), "link handshake")).toMatchObject({ error: null });
      return link;
    };
    const valid: fc.Arbitrary<ServiceMessage> = fc.oneof(
      fc.record({ type: fc.constant(ServiceMessageType.BroadcastData as const), excluded: fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }), payloads: fc.record({ json: fc.uint8Array({ maxLength: 16 }) }) }),
      fc.record({ type: fc.constant(ServiceMessageType.ConnectionData as const), connectionId: fc.string({ maxLength: 8 }), payload: fc.uint8Array({ maxLength: 16 }) }),
      fc.record({ type: fc.constant(ServiceMessageType.Ping as const), pairs: fc.array(fc.constantFrom("shutdown", "fin:1", "fin:2", "fin:9", "x"), { maxLength: 4 }) }),
      fc.record({ type: fc.constant(ServiceMessageType.JoinGroup as const), connectionId: fc.string({ maxLength: 8 }), group: fc.string({ maxLength: 8 }) }),
    );
    const arb = fc.oneof({ weight: 4, arbitrary: linkFrame.map((b) => ({ b })) }, { weight: 1, arbitrary: valid.map((v) => ({ v })) });
    await run(arb, 600, async (input) => {
      const l = await open();
      l.ws.send("b" in input ? input.b : Buffer.from(encodeServiceMessage(input.v)));
      if ("v" in input) await expectLinkAlive(l, ++ackId);
      else {
        const id = ++ackId;
        l.ws.send(Buffer.from(encodeServiceMessage({ type: ServiceMessageType.JoinGroupWithAck, connectionId: "nobody", group: "g", ackId: id })));
        const outcome = await withTimeout(
          Promise.race([l.closed.then((code) => ({ code })), l.next((m) => m.type === ServiceMessageType.Ack && m.ackId === id).then((m) => ({ m }))]),
          "link frame",
        );
        if ("code" in outcome) expect(outcome.code).toBe(1008);
      }
      await tick("link-frame");
    });
    link?.ws.terminate();
  });
});

/** A live link answers JoinGroupWithAck for an unknown connection with Ack NotFound. */
async function expectLinkAlive(link: RawLink, ackId: number): Promise<void> {
  link.ws.send(Buffer.from(encodeServiceMessage({ type: ServiceMessageType.JoinGroupWithAck, connectionId: "nobody", group: "g", ackId })));
  const ack = await withTimeout(link.next((m) => m.type === ServiceMessageType.Ack && m.ackId === ackId), "link ack");
  expect(ack).toMatchObject({ status: 2 });
}
