// The service's server-link side as the real Azure SignalR server SDK drives it, with raw links
// shaped byte for byte like the SDK's (token audience without port, X-ASRS-Server-Id, its
// handshake, flat pings), and the bad input a link can send. Every refusal is for that link
// alone: a kit server on another hub keeps echoing throughout.
import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { ServiceMessageType as T, decodeServiceMessages, encodeServiceMessage, type ServiceMessage } from "../../src/protocol/service-protocol.js";
import { frame } from "../../src/protocol/varint-framing.js";
import { clientAudience, signToken } from "../../src/service/access-token.js";
import { Hub, MiniServer, MiniService } from "../../src/testing/index.js";
import { linkHandshake, upgrade, withTimeout, type RawLink } from "../reliability/wire.js";

let service: MiniService;
let kitServer: MiniServer;
let chat: HubConnection;
let ws = "";
const refused: string[] = [];
const ignored: number[] = [];

/** The real SDK's server token: HS256 with a kid, iss azure-signalr, nameid = server id, aud without port. */
const sdkToken = (serverId: string | undefined, hub = "raw", o: { key?: string; aud?: string } = {}) => {
  const claims: Record<string, string> = { iss: "azure-signalr" };
  if (serverId !== undefined) claims.nameid = serverId;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: "1234567890" })
    .setAudience(o.aud ?? `http://127.0.0.1/server/?hub=${hub}`)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(o.key ?? service.accessKey));
};

/** A link as the SDK opens it; resolves after its handshake answer. */
async function sdkLink(serverId: string, hub = "raw"): Promise<RawLink> {
  const out = await upgrade(`${ws}/server/?hub=${hub}&cid=${crypto.randomUUID()}`, { Authorization: `Bearer ${await sdkToken(serverId, hub)}`, "X-ASRS-Server-Id": serverId });
  if (out.status !== 101) throw new Error(`link refused: HTTP ${out.status}`);
  const link = wrap((out as { ws: WebSocket }).ws);
  link.ws.send(linkHandshake());
  expect(await withTimeout(link.next((m) => m.type === T.HandshakeResponse), "handshake")).toMatchObject({ error: null });
  return link;
}

/** The reliability suite's RawLink bookkeeping, for a socket opened with the SDK's headers. */
function wrap(socket: WebSocket): RawLink {
  const received: ServiceMessage[] = [];
  const waiters: { pred: (m: ServiceMessage) => boolean; resolve: (m: ServiceMessage) => void }[] = [];
  let isClosed = false;
  socket.on("message", (d: Buffer) => {
    for (const m of decodeServiceMessages(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))) {
      received.push(m);
      for (const w of [...waiters]) if (w.pred(m)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
    }
  });
  const closed = new Promise<number>((r) => socket.on("close", (code) => ((isClosed = true), r(code))));
  return {
    ws: socket,
    received,
    closed,
    isClosed: () => isClosed,
    next: (pred) => received.find(pred) ? Promise.resolve(received.find(pred)!) : new Promise((resolve) => waiters.push({ pred, resolve })),
  };
}

const send = (l: RawLink, m: ServiceMessage) => l.ws.send(encodeServiceMessage(m));

/** A raw JSON client on the service (hub "raw"), recording every record it receives. */
async function rawClient(hub = "raw", query = "graceful=1") {
  const token = await signToken({ audience: clientAudience(service.endpoint, hub), accessKey: service.accessKey, userId: "u1" });
  const n = (await (await fetch(`${service.endpoint}/client/negotiate?hub=${hub}&negotiateVersion=1`, { method: "POST", headers: { Authorization: `Bearer ${token}` } })).json()) as { connectionId: string; connectionToken: string };
  const socket = new WebSocket(`${ws}/client/?hub=${hub}&id=${n.connectionToken}&${query}`, { headers: { Authorization: `Bearer ${token}` } });
  const records: string[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (d: Buffer) => {
    for (const r of d.toString("utf8").split("\u001e").filter(Boolean)) records.push(r);
    for (const w of [...waiters]) w();
  });
  await new Promise((r) => socket.once("open", r));
  return {
    id: n.connectionId,
    socket,
    records,
    until: (count: number) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = () => records.length >= count && (waiters.delete(check), resolve());
          waiters.add(check);
          check();
        }),
        `${count} records`,
      ),
  };
}

const stillServing = async () => expect(await chat.invoke("Echo", 42)).toBe(42);

beforeAll(async () => {
  service = await MiniService.start({ maxServerLinkBufferBytes: 256 * 1024 });
  ws = service.endpoint.replace("http", "ws");
  service.on("rejected", (e) => refused.push(e.reason));
  service.on("ignored", (e) => ignored.push(e.type));
  kitServer = await MiniServer.start({ service, id: "kit-server", hubs: { chat: class extends Hub { echo(x: unknown) { return x; } } } });
  chat = new HubConnectionBuilder().withUrl(kitServer.url("chat")).configureLogging(LogLevel.None).build();
  await chat.start();
});

afterAll(async () => {
  await chat?.stop();
  await kitServer?.kill();
  await service?.stop();
});

describe("links as the real server SDK makes them", () => {
  it("five links with the SDK's token, header and handshake are one server; status, servers and echo pings; FIN only for its server", async () => {
    const links = await Promise.all([1, 2, 3, 4, 5].map(() => sdkLink("sdk-1")));
    const other = await sdkLink("sdk-2");
    expect(service.servers().filter((s) => s.hubs.includes("raw")).map((s) => [s.serverId, s.linkCount, s.online]).sort()).toEqual([
      ["sdk-1", 5, true],
      ["sdk-2", 1, true],
    ]);
    // The SDK's periodic status ping needs no answer and never closes the link.
    send(links[0]!, { type: T.Ping, pairs: ["status", "1"] });
    // Server sticky mode asks who serves the hub.
    send(links[0]!, { type: T.Ping, pairs: ["servers", ""] });
    const servers = (await withTimeout(links[0]!.next((m) => m.type === T.Ping && m.pairs[0] === "servers"), "servers answer")) as { pairs: string[] };
    expect(servers.pairs[1]).toMatch(/^\d+:(sdk-1;sdk-2|sdk-2;sdk-1)$/);
    send(links[1]!, { type: T.Ping, pairs: ["echo", "abc"] });
    expect(await withTimeout(links[1]!.next((m) => m.type === T.Ping && m.pairs[0] === "echo"), "echo")).toEqual({ type: T.Ping, pairs: ["echo", "abc"] });
    // Messages the service doesn't act on are read and ignored, never a reason to close.
    links[2]!.ws.send(frame(Uint8Array.from([0x94, 28, 0xa1, 0x74, 0xc0, 0x80]))); // AccessKeyRequest
    links[2]!.ws.send(frame(Uint8Array.from([0x92, 99, 0xc0]))); // a type newer than the codec
    send(links[2]!, { type: T.ServiceEvent, objectType: 1, id: "x", kind: 3, message: "BufferFull" });
    // FIN on one link takes its server offline (not the other server), answered FINACK on that link.
    send(links[3]!, { type: T.Ping, pairs: ["shutdown", "fin:2"] });
    expect(await withTimeout(links[3]!.next((m) => m.type === T.Ping && m.pairs[1] === "finack"), "finack")).toEqual({ type: T.Ping, pairs: ["shutdown", "finack"] });
    expect(service.servers().filter((s) => s.hubs.includes("raw")).map((s) => [s.serverId, s.online]).sort()).toEqual([
      ["sdk-1", false],
      ["sdk-2", true],
    ]);
    expect(ignored).toEqual(expect.arrayContaining([T.AccessKeyRequest, T.Unknown, T.ServiceEvent]));
    expect(links.some((l) => l.isClosed())).toBe(false);
    for (const l of [...links, other]) l.ws.close();
    await stillServing();
  });

  it("OpenConnection carries the query string and the protocol; a hub message written before the handshake answer follows it", async () => {
    const link = await sdkLink("sdk-3");
    const client = await rawClient();
    client.socket.send('{"protocol":"json","version":1}\u001e');
    const open = (await withTimeout(link.next((m) => m.type === T.OpenConnection && m.connectionId === client.id), "OpenConnection")) as Extract<ServiceMessage, { type: T.OpenConnection }>;
    expect(open.protocol).toBe("json");
    expect(new URLSearchParams(open.queryString).get("graceful")).toBe("1");
    expect(open.queryString).not.toContain("access_token");
    expect(open.claims.nameid).toBe("u1");
    // The SDK may write the hello (from OnConnectedAsync) before the handshake answer, even on another link.
    const hello = Buffer.from('{"type":1,"target":"graceful.hello","arguments":[{"serverId":"sdk-3"}]}\u001e');
    send(link, { type: T.MultiConnectionData, connectionIds: [client.id], payloads: { json: hello } });
    send(link, { type: T.ConnectionData, connectionId: client.id, payload: Buffer.from("{}\u001e") });
    await client.until(2);
    expect(client.records).toEqual(["{}", '{"type":1,"target":"graceful.hello","arguments":[{"serverId":"sdk-3"}]}']);
    client.socket.close();
    link.ws.close();
  });

  it("client results: the caller's ClientInvocation reaches the client and the owner; the owner's completion reaches the caller", async () => {
    const owner = await sdkLink("owner");
    const client = await rawClient();
    client.socket.send('{"protocol":"json","version":1}\u001e');
    await withTimeout(owner.next((m) => m.type === T.OpenConnection && m.connectionId === client.id), "routed to the owner");
    send(owner, { type: T.ConnectionData, connectionId: client.id, payload: Buffer.from("{}\u001e") });
    await client.until(1);
    const caller = await sdkLink("caller");
    const invocation = Buffer.from('{"type":1,"invocationId":"7","target":"GetAnswer","arguments":[]}\u001e');
    send(caller, { type: T.ClientInvocation, invocationId: "inv-1", connectionId: client.id, callerServerId: "caller", payloads: { json: invocation } });
    await client.until(2);
    expect(client.records[1]).toBe('{"type":1,"invocationId":"7","target":"GetAnswer","arguments":[]}');
    expect(await withTimeout(owner.next((m) => m.type === T.ClientInvocation), "owner told")).toMatchObject({ invocationId: "inv-1", connectionId: client.id, callerServerId: "caller" });
    // The client's completion goes to its owner as data; the owner's SDK routes it back.
    client.socket.send('{"type":3,"invocationId":"7","result":42}\u001e');
    await withTimeout(owner.next((m) => m.type === T.ConnectionData && Buffer.from(m.payload).toString().includes('"result":42')), "completion at the owner");
    const completion = Buffer.from('{"type":3,"invocationId":"7","result":42}\u001e');
    send(owner, { type: T.ClientCompletion, invocationId: "inv-1", connectionId: client.id, callerServerId: "caller", protocol: "json", payload: completion });
    expect(await withTimeout(caller.next((m) => m.type === T.ClientCompletion), "completion at the caller")).toMatchObject({ invocationId: "inv-1", callerServerId: "caller", protocol: "json" });
    // An unknown connection, and a client that leaves with an invocation pending: ErrorCompletion.
    send(caller, { type: T.ClientInvocation, invocationId: "inv-2", connectionId: "nobody", callerServerId: "caller", payloads: { json: invocation } });
    expect(await withTimeout(caller.next((m) => m.type === T.ErrorCompletion && m.invocationId === "inv-2"), "no such connection")).toMatchObject({ error: "Connection 'nobody' does not exist." });
    send(caller, { type: T.ClientInvocation, invocationId: "inv-3", connectionId: client.id, callerServerId: "caller", payloads: { json: invocation } });
    await client.until(3);
    client.socket.close();
    expect(await withTimeout(caller.next((m) => m.type === T.ErrorCompletion && m.invocationId === "inv-3"), "client left")).toMatchObject({ error: "Connection disconnected." });
    owner.ws.close();
    caller.ws.close();
  });
});

describe("a link's identity is its token's, and bad input ends that link alone", () => {
  it("refuses a header that disagrees with the token, another key, another hub; accepts the port-less audience", async () => {
    const tryLink = async (headers: Record<string, string>) => (await upgrade(`${ws}/server/?hub=raw`, headers)).status;
    expect(await tryLink({ Authorization: `Bearer ${await sdkToken("intruder")}`, "X-ASRS-Server-Id": "sdk-1" })).toBe(401);
    expect(refused.at(-1)).toBe("Server id 'sdk-1' in X-ASRS-Server-Id disagrees with the token's 'intruder'.");
    expect(await tryLink({ Authorization: `Bearer ${await sdkToken("x", "raw", { key: "another-key-another-key-another-key" })}` })).toBe(401);
    expect(await tryLink({ Authorization: `Bearer ${await sdkToken("x", "raw", { aud: "http://127.0.0.1/server/?hub=other" })}` })).toBe(401);
    expect(await tryLink({ Authorization: `Bearer ${await sdkToken("x", "raw", { aud: "https://127.0.0.1/server/?hub=raw" })}` })).toBe(401);
    expect(await tryLink({ Authorization: `Bearer ${await sdkToken("x", "raw", { aud: `${service.endpoint}/server/?hub=raw` })}`, "X-ASRS-Server-Id": "x" })).toBe(101);
    // Without a server id in its token, the header names it.
    const l = wrap(((await upgrade(`${ws}/server/?hub=raw`, { Authorization: `Bearer ${await sdkToken(undefined)}`, "X-ASRS-Server-Id": "by-header" })) as { ws: WebSocket }).ws);
    l.ws.send(linkHandshake());
    await withTimeout(l.next((m) => m.type === T.HandshakeResponse), "handshake");
    expect(service.servers().some((s) => s.serverId === "by-header")).toBe(true);
    l.ws.close();
    await stillServing();
  });

  it("unknown protocol version, a text frame, bad MessagePack, a length prefix over the limit, an oversized frame", async () => {
    const open = async () => wrap(((await upgrade(`${ws}/server/?hub=raw`, { Authorization: `Bearer ${await sdkToken("bad")}` })) as { ws: WebSocket }).ws);
    // Before the handshake: a handshake error the SDK reads, then the close.
    const v2 = await open();
    send(v2, { type: T.HandshakeRequest, version: 2, connectionType: 0, target: "", migrationLevel: 1, allowStatefulReconnects: false });
    expect(await withTimeout(v2.next((m) => m.type === T.HandshakeResponse), "v2")).toEqual({ type: T.HandshakeResponse, error: "Protocol version 2 is not supported." });
    expect(await v2.closed).toBe(1008);
    const text = await open();
    text.ws.send("hello");
    expect(await withTimeout(text.next((m) => m.type === T.HandshakeResponse), "text")).toMatchObject({ error: "The service protocol uses binary frames." });
    // After the handshake: a ServiceError with the reason, then a close carrying it.
    const closeReason = (l: RawLink) => new Promise<string>((r) => l.ws.once("close", (_c, reason) => r(reason.toString())));
    const garbage = await open();
    garbage.ws.send(linkHandshake());
    await withTimeout(garbage.next((m) => m.type === T.HandshakeResponse), "handshake");
    const why = closeReason(garbage);
    garbage.ws.send(frame(Uint8Array.from([0xc1])));
    expect(await withTimeout(garbage.next((m) => m.type === T.ServiceError), "service error")).toMatchObject({ error: expect.stringMatching(/^Not MessagePack/) });
    expect(await why).toMatch(/^Not MessagePack/);
    const huge = await open();
    huge.ws.send(linkHandshake());
    await withTimeout(huge.next((m) => m.type === T.HandshakeResponse), "handshake");
    huge.ws.send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x90]));
    expect(await withTimeout(huge.next((m) => m.type === T.ServiceError), "over the limit")).toMatchObject({ error: expect.stringMatching(/exceeds the limit/) });
    const oversized = await open();
    oversized.ws.send(linkHandshake());
    await withTimeout(oversized.next((m) => m.type === T.HandshakeResponse), "handshake");
    oversized.ws.send(Buffer.alloc(16 * 1024 * 1024 + 1));
    expect(await withTimeout(oversized.closed, "oversized frame")).toBe(1009);
    await stillServing();
  });

  it("a link that never reads is dropped with a reason once its send queue is full; the service carries on", async () => {
    const deaf = await sdkLink("deaf");
    const client = await rawClient();
    client.socket.send('{"protocol":"json","version":1}\u001e');
    await withTimeout(deaf.next((m) => m.type === T.OpenConnection), "routed to the deaf server");
    (deaf.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const record = `{"type":1,"target":"Flood","arguments":["${"x".repeat(30_000)}"]}\u001e`;
    const gone = new Promise<string>((resolve) => service.on("rejected", (e) => e.reason.startsWith("deaf:") && resolve(e.reason)));
    let sent = 0;
    while (sent < 2000 && client.socket.readyState === WebSocket.OPEN) {
      client.socket.send(record);
      sent++;
      if (sent % 50 === 0) await new Promise<void>((r) => client.socket.send("", () => r())); // let the service read
      if (!service.servers().some((s) => s.serverId === "deaf" && s.linkCount > 0)) break;
    }
    expect(await withTimeout(gone, "deaf link dropped")).toBe("deaf: Server connection send queue exceeded 262144 bytes: the server is not reading.");
    expect(service.servers().find((s) => s.serverId === "deaf")?.linkCount ?? 0).toBe(0);
    await stillServing();
    client.socket.terminate();
    deaf.ws.terminate();
  });

  it("pings an idle link and drops one that goes silent, with the reason", async () => {
    const quick = await MiniService.start({ serverPingIntervalMs: 50, serverTimeoutMs: 400 });
    try {
      const token = await signToken({ audience: `${quick.endpoint}/server/?hub=raw`, accessKey: quick.accessKey, claims: { nameid: "quiet" } });
      const out = await upgrade(`${quick.endpoint.replace("http", "ws")}/server/?hub=raw`, { Authorization: `Bearer ${token}` });
      const link = wrap((out as { ws: WebSocket }).ws);
      const reason = new Promise<string>((r) => link.ws.once("close", (_c, why) => r(why.toString())));
      link.ws.send(linkHandshake());
      // The service's keep-alive: empty pings ([3]) while it has nothing else to say.
      expect(await withTimeout(link.next((m) => m.type === T.Ping && m.pairs.length === 0), "keep-alive ping")).toEqual({ type: T.Ping, pairs: [] });
      // Nothing from the link since its handshake: dropped after the timeout.
      expect(await withTimeout(reason, "timeout close")).toBe("Server connection timed out: nothing received for 400 ms.");
      expect(link.received.some((m) => m.type === T.ServiceError)).toBe(true);
    } finally {
      await quick.stop();
    }
  });
});
