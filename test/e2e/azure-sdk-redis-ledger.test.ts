// ChatServer's RedisDeliveryLedger.cs (the ledger a C# user copies) under DeliveryFilter.cs, with a
// real redis-server, two real ChatServer processes (Microsoft.Azure.SignalR 1.34.0) on the kit's
// MiniService and the real @microsoft/signalr client in GracefulConnection:
// - the marker split made on purpose (as azure-sdk-delivery-split.test.ts over the kit's ledger):
//   the old server hands the marker over through Redis, each send runs once, in order, no stall;
// - a drop while the send still runs on its server, for longer than RunningTtl: its server renews
//   the running entry, so the re-send waits for that attempt in Redis and is answered as a copy;
// - a sender's next message while its predecessor still runs on another connection: it waits;
// - a running entry whose server died (its expiry passed) blocks nothing;
// - Redis stopped: the call fails before the hub method runs.
// What ran is read from the servers' "send" events (TRACE_SENDS), what the ledger decided from its
// Debug lines, and what it left behind from Redis itself.
import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniService } from "../../src/service/mini-service.js";
import { ChatServerProcess, ChatStoreServer } from "./azure-sdk-fixture.js";
import { helloFrom } from "./chat-fixture.js";
import { describeRedis, RedisServer } from "./redis-server.js";

/** RedisDeliveryLedgerOptions.OrderWait's default. */
const ORDER_WAIT_MS = 5_000;
/** RedisDeliveryLedgerOptions.RunningTtl, shortened (default 15 s) so a held call outlives it in a test. */
const RUNNING_TTL_MS = 1_500;
const REDIS_TIMEOUT_MS = 2_000;

describeRedis("RedisDeliveryLedger with the real Azure SignalR server SDK and a real redis-server", () => {
  let service: MiniService;
  let redis: RedisServer;
  let store: ChatStoreServer;
  const servers: ChatServerProcess[] = [];
  const runs: string[] = [];
  let conn: GracefulConnection | undefined;

  beforeAll(async () => {
    [service, redis, store] = await Promise.all([MiniService.start(), RedisServer.start(), ChatStoreServer.start()]);
    const connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    // How long a command waits for an unreachable Redis (StackExchange.Redis: 5 s).
    const env = { DELIVERY_LEDGER_URL: `${redis.url}?syncTimeout=${REDIS_TIMEOUT_MS}&asyncTimeout=${REDIS_TIMEOUT_MS}`, TRACE_SENDS: "1", Logging__LogLevel__RedisDeliveryLedger: "Debug", DELIVERY_RUNNING_TTL_MS: String(RUNNING_TTL_MS) };
    servers.push(...(await Promise.all(["cs-a", "cs-b"].map((serverId) => ChatServerProcess.start({ serverId, connectionString, mode: "MigrateClients", storeUrl: store.url, env })))));
    for (const s of servers)
      s.on("line", () => {
        const e = s.events.at(-1);
        if (e?.line === s.lines.length - 1 && e.what === "send") runs.push(`${s.id}:${String(e.details.clientMsgId)}`);
      });
  }, 60_000);

  afterEach(async () => {
    await conn?.stop().catch(() => {});
    conn = undefined;
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await redis?.stop();
    await store?.stop();
    await service?.stop();
  }, 30_000);

  const connect = async (): Promise<[GracefulConnection, HubConnection]> => {
    const hub = new HubConnectionBuilder().withUrl(`http://127.0.0.1:${servers[0]!.port}/chat`).configureLogging(LogLevel.None).build();
    const c = (conn = new GracefulConnection(hub, { logger: { log: () => {} }, callTimeoutMs: 20_000 }));
    await c.start();
    await helloFrom(c);
    return [c, hub];
  };
  const byId = (id: string) => servers.find((s) => s.id === id)!;
  interface Mark { lines: Map<ChatServerProcess, number>; runs: number }
  const mark = (): Mark => ({ lines: new Map(servers.map((s) => [s, s.lines.length])), runs: runs.length });
  /** What the hubs ran since the mark, in the order their lines came: "server:clientMsgId". */
  const runsSince = (from: Mark) => runs.slice(from.runs);
  /** The same count from each server's events, for a waitFor probe (they run before "line" listeners). */
  const runCount = (from: Mark) => servers.reduce((n, s) => n + s.events.filter((e) => e.what === "send" && e.line >= from.lines.get(s)!).length, 0);
  /**
   * Waits for a run's event: the hub method logs it (through .NET's queued console logger) before its
   * completion leaves, but the line may reach us after the completion. A server's lines keep their order.
   */
  const ran = (from: Mark, clientMsgId: string) =>
    Promise.race(servers.map((s) => s.waitForEvent((e) => e.what === "send" && e.details.clientMsgId === clientMsgId && e.line >= from.lines.get(s)!, `${clientMsgId} running`)));
  const ledgerLines = (from: Mark, pattern: RegExp) =>
    servers.flatMap((s) => s.lines.slice(from.lines.get(s)).filter((l) => /RedisDeliveryLedger/.test(l) && pattern.test(l)).map((l) => `${s.id}: ${l.replace(/^.*RedisDeliveryLedger\[\d+\] /, "")}`));

  it("a migration between a marker and its send: the old server hands the marker over through Redis; each send runs once, in order, without the order wait", async () => {
    const [c, hub] = await connect();
    const from = mark();
    const migrated = new Promise<void>((resolve) => c.events.on("migrated", () => resolve()));
    const moved = service.migrateAfterDeliveryMarker(hub.connectionId!);
    const started = Date.now();
    const first = c.send("SendMessage", "u#1", "u", 1, "one");
    const second = c.send("SendMessage", "u#2", "u", 2, "two");
    const { to } = await moved;
    await Promise.all([first, second, migrated]);
    const elapsed = Date.now() - started;
    // After the SDK's re-sends of the first two on the same connection: once it resolved, every
    // copy has been run or skipped.
    await c.send("SendMessage", "u#3", "u", 3, "three");
    await ran(from, "u#3");

    expect(runsSince(from)).toEqual([`${to}:u#1`, `${to}:u#2`, `${to}:u#3`]);
    expect(ledgerLines(from, /handover taken/)).toEqual([expect.stringMatching(new RegExp(`^${to}: .*\\(DeliveryId \\{ ClientId = \\S+, N = 1, W = 0 \\}\\)`))]);
    expect(ledgerLines(from, /is a copy/)).toEqual([expect.stringMatching(new RegExp(`^${to}: .*#1 is a copy`)), expect.stringMatching(new RegExp(`^${to}: .*#2 is a copy`))]);
    expect(ledgerLines(from, /without its predecessors|no handover record/)).toEqual([]);
    expect(elapsed).toBeLessThan(ORDER_WAIT_MS);
    expect(byId(to).events.some((e) => e.what === "connected" && e.line >= from.lines.get(byId(to))! && e.details.migratedFrom)).toBe(true);

    // What it leaves in Redis: the handover record taken, nothing running, a sender's keys expiring
    // within the hour.
    expect(await redis.cli("KEYS", "graceful:handover:*")).toEqual([]);
    const keys = (await redis.cli("KEYS", "graceful:delivery:*")).sort();
    expect(keys.map((k) => k.replace(/\{.*\}/, "{id}"))).toEqual(["graceful:delivery:{id}:done", "graceful:delivery:{id}:floor"]);
    for (const k of keys) {
      const [ttl] = await redis.cli("PTTL", k);
      expect(Number(ttl)).toBeGreaterThan(3_500_000);
      expect(Number(ttl)).toBeLessThanOrEqual(3_600_000);
    }
  }, 60_000);

  it("a drop while the send still runs, longer than RunningTtl: the entry is renewed, the re-send waits for that attempt and is answered as a copy; the next send runs right after", async () => {
    const [c, hub] = await connect();
    const from = mark();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    store.gate = (m) => (m.clientMsgId === "d#1" ? held : Promise.resolve());
    try {
      const first = c.send("SendMessage", "d#1", "d", 1, "one");
      first.catch(() => {}); // awaited below; a failure before that stops the connection in afterEach
      const ranOn = await Promise.race(servers.map((s) => s.waitForEvent((e) => e.what === "send" && e.details.clientMsgId === "d#1" && e.line >= from.lines.get(s)!, "d#1 running").then(() => s)));
      expect(service.dropClientTransport(hub.connectionId!)).toBe(true); // its completion is lost
      // The SDK reconnects and re-sends d#1 with its delivery id: the ledger finds the first attempt
      // running and waits (a ledger that did not would run it again).
      const reSent = () => ledgerLines(from, /#1 waits \(running\)/).length > 0 || runCount(from) > 1;
      await Promise.race(servers.map((s) => s.waitFor(() => (reSent() ? true : undefined), "the re-send", 15_000)));
      // The call outlives its RunningTtl: its server renews the entry (without that, the entry would
      // expire and the waiting re-send run d#1 a second time).
      const running = `graceful:delivery:{${c.clientId}}:running`;
      const expiry = async () => Number((await redis.cli("ZSCORE", running, "1"))[0] ?? NaN);
      const firstExpiry = await expiry();
      expect(firstExpiry).toBeGreaterThan(0);
      for (const deadline = Date.now() + 4 * RUNNING_TTL_MS; !((await expiry()) > firstExpiry + RUNNING_TTL_MS); ) {
        if (Date.now() > deadline) throw new Error("the running entry was not renewed past its first expiry");
        await new Promise((r) => setTimeout(r, 50)); // polling Redis, the only place the renewal shows
      }
      release();
      await first;
      await c.send("SendMessage", "d#2", "d", 2, "two");
      await ran(from, "d#2");

      expect(runsSince(from)).toEqual([`${ranOn.id}:d#1`, expect.stringMatching(/:d#2$/)]);
      expect(ledgerLines(from, /#1 waits|is a copy/)).toEqual([expect.stringMatching(/#1 waits \(running\)/), expect.stringMatching(/#1 is a copy/)]);
      expect(ledgerLines(from, /without its predecessors|no handover record/)).toEqual([]);
      expect(store.messages.filter((m) => m.user === "d").map((m) => m.clientMsgId)).toEqual(["d#1", "d#2"]);
    } finally {
      release();
      store.gate = undefined;
    }
  }, 60_000);

  it("order across connections: a send whose predecessor still runs elsewhere waits for it in Redis, then runs", async () => {
    // Two plain connections of one sender (delivery markers sent by hand), as a backlog on an old
    // server and the sender's next message on a new one.
    const hubs = [0, 1].map(() => new HubConnectionBuilder().withUrl(`http://127.0.0.1:${servers[0]!.port}/chat`).configureLogging(LogLevel.None).build());
    const from = mark();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    store.gate = (m) => (m.clientMsgId === "o#1" ? held : Promise.resolve());
    try {
      await Promise.all(hubs.map((h) => h.start()));
      const clientId = `order-${Date.now()}`;
      await hubs[0]!.send("GracefulDelivery", clientId, 1, 0);
      const first = hubs[0]!.invoke("SendMessage", "o#1", "o", 1, "one");
      first.catch(() => {}); // awaited below
      await ran(from, "o#1");
      // Running, with an expiry (RunningTtl, renewed while the call runs) that frees the id if its
      // server dies mid-call.
      const [sec, usec] = (await redis.cli("TIME")).map(Number);
      const [member, expires] = await redis.cli("ZRANGE", `graceful:delivery:{${clientId}}:running`, "0", "-1", "WITHSCORES");
      expect(member).toBe("1");
      expect(Number(expires) - (sec! * 1000 + usec! / 1000)).toBeGreaterThan(0);
      expect(Number(expires) - (sec! * 1000 + usec! / 1000)).toBeLessThanOrEqual(RUNNING_TTL_MS);
      await hubs[1]!.send("GracefulDelivery", clientId, 2, 0);
      const second = hubs[1]!.invoke("SendMessage", "o#2", "o", 2, "two");
      second.catch(() => {});
      const decided = () => ledgerLines(from, /#2 waits \(order\)/).length > 0 || runCount(from) > 1;
      await Promise.race(servers.map((s) => s.waitFor(() => (decided() ? true : undefined), "o#2 waiting or running", 15_000)));
      expect(runsSince(from).map((r) => r.replace(/^.*:/, ""))).toEqual(["o#1"]); // o#2 waits
      release();
      await Promise.all([first, second]);
      await ran(from, "o#2");
      expect(runsSince(from).map((r) => r.replace(/^.*:/, ""))).toEqual(["o#1", "o#2"]);
      expect(ledgerLines(from, /without its predecessors|is a copy/)).toEqual([]);
    } finally {
      release();
      store.gate = undefined;
      await Promise.all(hubs.map((h) => h.stop()));
    }
  }, 30_000);

  it("a running entry left by a server that died mid-call blocks nothing once it expired: the re-send runs at once", async () => {
    const hub = new HubConnectionBuilder().withUrl(`http://127.0.0.1:${servers[0]!.port}/chat`).configureLogging(LogLevel.None).build();
    const from = mark();
    try {
      await hub.start();
      const clientId = `crashed-${Date.now()}`;
      // What a server killed while running k#1 leaves behind, its RunningTtl passed a second ago.
      const [sec] = (await redis.cli("TIME")).map(Number);
      await redis.cli("ZADD", `graceful:delivery:{${clientId}}:running`, String((sec! - 1) * 1000), "1");
      const started = Date.now();
      await hub.send("GracefulDelivery", clientId, 1, 0);
      await hub.invoke("SendMessage", "k#1", "k", 1, "one");
      await ran(from, "k#1");
      expect(Date.now() - started).toBeLessThan(ORDER_WAIT_MS);
      expect(runsSince(from).map((r) => r.replace(/^.*:/, ""))).toEqual(["k#1"]);
      expect(ledgerLines(from, /waits|is a copy|without its predecessors/)).toEqual([]);
    } finally {
      await hub.stop();
    }
  }, 30_000);

  // Last: it stops redis-server.
  it("Redis unreachable: the filter's call fails (at once, or once the command times out) before the hub method runs; the send rejects with the hub's error", async () => {
    const [c] = await connect();
    const from = mark();
    await redis.stop();
    const started = Date.now();
    const error = await c.send("SendMessage", "x#1", "x", 1, "one").then(() => undefined, (e: Error) => e);
    const elapsed = Date.now() - started;
    // The SDK got a completion (an error): no re-send. ASP.NET Core hides the exception from the
    // client (EnableDetailedErrors off); the server logs it.
    expect(error?.message).toBe("An unexpected error occurred invoking 'SendMessage' on the server.");
    expect(elapsed).toBeLessThan(REDIS_TIMEOUT_MS + 1_500);
    const failed = await Promise.race(servers.map((s) => s.waitForLine((l) => /Failed to invoke hub method 'SendMessage'/.test(l) && s.lines.indexOf(l) >= from.lines.get(s)!, "the hub's error").then((i) => s.lines[i]!)));
    expect(failed).toMatch(/StackExchange\.Redis\.Redis(Connection|Timeout)Exception.* at RedisDeliveryLedger\.TryBeginAsync/);
    expect(runsSince(from)).toEqual([]);
  }, 30_000);
});
