// Stateful reconnect at the service, with the real client's withStatefulReconnect(): a
// client whose socket drops comes back to the same connection id and loses nothing; its app
// server never hears of it. Then GracefulConnection on top: a transient drop costs it no
// resume and no re-send, and a migration with stateful reconnect on still loses nothing.
import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, describe, expect, it } from "vitest";
import { GracefulShutdownMode, Hub } from "../../src/testing/index.js";
import { ChatClient, ChatStore, allBack, chatEvents, chatHub, until } from "./chat-fixture.js";
import { event, nextCall, startKit, type Kit } from "./kit.js";
import { rawSocket, redirect } from "./raw-client.js";

const serverLog: string[] = [];
class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
  async shout(i: number) {
    await this.clients.all.send("shout", i);
  }
  override onConnected() {
    serverLog.push(`connected ${this.context.connectionId}`);
  }
  override onDisconnected() {
    serverLog.push(`disconnected ${this.context.connectionId}`);
  }
}

let kit: Kit | undefined;
const hubs: HubConnection[] = [];
let chats: ChatClient[] = [];
afterEach(async () => {
  for (const c of chats) c.stopChatting();
  await Promise.all([...hubs.map((h) => h.stop().catch(() => {})), ...chats.map((c) => c.conn.stop().catch(() => {}))]);
  hubs.length = 0;
  chats = [];
  serverLog.length = 0;
  await kit?.close();
  kit = undefined;
});

function client(url: string, o: { stateful: boolean; protocol?: "json" | "messagepack" }): HubConnection {
  let b = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None);
  if (o.stateful) b = b.withStatefulReconnect();
  if (o.protocol === "messagepack") b = b.withHubProtocol(new MessagePackHubProtocol());
  const h = b.build();
  hubs.push(h);
  return h;
}

describe.each(["json", "messagepack"] as const)("stateful reconnect over WebSockets, %s", (protocol) => {
  it("a dropped socket comes back to the same connection: nothing lost, nothing twice, no disconnect anywhere", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const url = kit.servers[0]!.url("chat");
    const a = client(url, { stateful: true, protocol });
    const b = client(url, { stateful: false });
    await a.start();
    await b.start();
    const id = a.connectionId!;
    expect(kit.service.connections().find((c) => c.connectionId === id)).toMatchObject({ statefulReconnect: true, protocol });
    const clientSide: string[] = [];
    a.onreconnecting(() => clientSide.push("reconnecting"));
    a.onclose(() => clientSide.push("closed"));
    const got: number[] = [];
    a.on("shout", (i: number) => got.push(i));
    const serviceSide: string[] = [];
    kit.service.on("clientDisconnected", (e) => serviceSide.push(`disconnected ${e.connectionId}`));
    const lost = event(kit.service, "clientTransportLost");
    const resumed = event<{ resent: number }>(kit.service, "clientResumed");
    const last = nextCall(a, "shout", (i: number) => i === 299);

    // B shouts 300 times; A's socket is cut in the middle, and A invokes while it is away.
    for (let i = 0; i < 150; i++) void b.send("Shout", i);
    await nextCall(a, "shout", (i: number) => i >= 20);
    expect(kit.service.dropClientTransport(id)).toBe(true);
    const inTheGap = a.invoke("Echo", "sent while the socket was down");
    for (let i = 150; i < 300; i++) void b.send("Shout", i);
    await lost;
    const { resent } = await resumed;
    expect(await inTheGap).toBe("sent while the socket was down");
    await last;
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // Unacknowledged messages were sent again (acks come about once a second) and the client dropped the copies.
    expect(resent).toBeGreaterThan(0);
    expect(a.connectionId).toBe(id);
    expect(a.state).toBe("Connected");
    expect(clientSide).toEqual([]);
    expect(serviceSide).toEqual([]);
    expect(serverLog).toEqual([`connected ${id}`, `connected ${b.connectionId}`]);
  });
});

it("negotiate offers stateful reconnect only to a client that asks, and the service can refuse it", async () => {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { allowStatefulReconnect: true } });
  const r = await redirect(kit.servers[0]!);
  const ask = (q: string) => fetch(`${kit!.service.endpoint}/client/negotiate?hub=chat&negotiateVersion=1${q}`, { method: "POST", headers: { Authorization: `Bearer ${r.accessToken}` } }).then((x) => x.json());
  expect(await ask("&useStatefulReconnect=true")).toMatchObject({ useStatefulReconnect: true });
  expect(await ask("")).not.toHaveProperty("useStatefulReconnect");
  await kit.close();
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { allowStatefulReconnect: false } });
  const a = client(kit.servers[0]!.url("chat"), { stateful: true });
  await a.start(); // the client simply goes without
  expect(kit.service.connections()[0]).toMatchObject({ statefulReconnect: false });
});

it("a client that does not come back within disconnectTimeoutMs is closed; only then does its server hear of it", async () => {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { disconnectTimeoutMs: 300 } });
  const r = await redirect(kit.servers[0]!);
  const res = await fetch(`${kit.service.endpoint}/client/negotiate?hub=chat&negotiateVersion=1&useStatefulReconnect=true`, { method: "POST", headers: { Authorization: `Bearer ${r.accessToken}` } });
  const n = (await res.json()) as { connectionId: string; connectionToken: string };
  const url = `${kit.service.endpoint.replace("http", "ws")}/client/?hub=chat&id=${n.connectionToken}`;
  const s = await rawSocket(url, { Authorization: `Bearer ${r.accessToken}` });
  s.ws.send('{"protocol":"json","version":2}\u001e');
  await s.waitFor("{}");
  const lostAt = event(kit.service, "clientTransportLost");
  s.ws.terminate();
  await lostAt;
  const t0 = Date.now();
  expect(serverLog).toEqual([`connected ${n.connectionId}`]);
  await event(kit.service, "clientDisconnected");
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  // Too late now: the token no longer opens anything.
  await expect(rawSocket(url, { Authorization: `Bearer ${r.accessToken}` })).rejects.toThrow("HTTP 404");
});

describe("GracefulConnection with withStatefulReconnect()", () => {
  const configure = (b: HubConnectionBuilder) => b.withStatefulReconnect();
  // The SDK's own marker (GRACEFUL_QUERY_KEY); explicit here so the test does not depend on the SDK adding it.
  const url = () => kit!.balancer.url("chat") + "?graceful=1";

  it("a transient drop costs no resume and no re-send", async () => {
    const store = new ChatStore();
    kit = await startKit({ hubs: { chat: chatHub(store) }, servers: 2 });
    chats = Array.from({ length: 4 }, (_, i) => new ChatClient(url(), `u${i}`, "room", {}, { configure }));
    const resumes: string[] = [];
    chats.forEach((c) => c.conn.events.on("resumed", () => resumes.push(c.user)));
    await Promise.all(chats.map((c) => c.conn.start()));
    await allBack(chats, () => kit!.servers);
    resumes.length = 0;
    chats.forEach((c) => c.startChatting(20));
    await until(() => chats.every((c) => c.accepted.length >= 3), chatEvents(chats, "shown"), 5_000, "chat under way");
    const dups = () => chats.reduce((n, c) => n + c.rawDeliveries - c.shown.size, 0);
    const dupsBefore = dups(); // a first History fetch may overlap live broadcasts: not the drop's doing
    // Every client's socket drops once, mid-chat.
    for (const c of chats) expect(kit.service.dropClientTransport(c.conn.connectionId!)).toBe(true);
    const more = chats.map((c) => c.accepted.length + 10);
    await until(() => chats.every((c, i) => c.accepted.length >= more[i]!), chatEvents(chats, "settled"), 10_000, "chatting on");
    chats.forEach((c) => c.stopChatting());
    await until(() => chats.every((c) => c.seq === c.accepted.length + c.sendErrors.length), chatEvents(chats, "settled"), 5_000, "sends settled");
    const total = () => chats.reduce((n, c) => n + c.accepted.length, 0);
    await until(() => chats.every((c) => c.shown.size >= total()), chatEvents(chats, "shown"), 10_000, "all delivered");
    expect(resumes).toEqual([]); // no reconnect as far as the SDK could tell: no resume
    expect(chats.flatMap((c) => c.sendErrors)).toEqual([]);
    // No re-send: the store saw each message once, and no client received one twice.
    expect(store.messages.length).toBe(total());
    expect(dups()).toBe(dupsBefore);
    expect(chats.every((c) => c.conn.state === "Connected")).toBe(true);
  }, 30_000);

  it("a MigrateClients shutdown with stateful reconnect on loses nothing", async () => {
    const store = new ChatStore();
    kit = await startKit({ hubs: { chat: chatHub(store) }, servers: 2 });
    chats = Array.from({ length: 6 }, (_, i) => new ChatClient(url(), `u${i}`, "room", {}, { configure }));
    await Promise.all(chats.map((c) => c.conn.start()));
    await allBack(chats, () => kit!.servers);
    chats.forEach((c) => c.startChatting(20));
    await until(() => chats.every((c) => c.accepted.length >= 3), chatEvents(chats, "shown"), 5_000, "chat under way");
    const report = await kit.servers[0]!.shutdown({ mode: GracefulShutdownMode.MigrateClients, timeoutMs: 5_000 });
    expect(report.dropped).toBe(0);
    await allBack(chats, () => kit!.servers);
    const more = chats.map((c) => c.accepted.length + 5);
    await until(() => chats.every((c, i) => c.accepted.length >= more[i]!), chatEvents(chats, "settled"), 10_000, "chatting on");
    chats.forEach((c) => c.stopChatting());
    await until(() => chats.every((c) => c.seq === c.accepted.length + c.sendErrors.length), chatEvents(chats, "settled"), 5_000, "sends settled");
    const total = () => chats.reduce((n, c) => n + c.accepted.length, 0);
    await until(() => chats.every((c) => c.shown.size >= total()), chatEvents(chats, "shown"), 10_000, "all delivered");
    expect(chats.flatMap((c) => c.sendErrors)).toEqual([]);
    expect(store.messages.length).toBe(total());
  }, 30_000);
});
