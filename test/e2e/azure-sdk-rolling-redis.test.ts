// The delivery guarantee through a rolling deploy of real parts only: three real ChatServer
// processes (Microsoft.Azure.SignalR 1.34.0) on the kit's MiniService, DeliveryFilter.cs over
// RedisDeliveryLedger.cs on a real redis-server, a shared chat store, and 8 real @microsoft/signalr
// clients in GracefulConnection behind a load balancer, each starting a send every 50 ms without
// waiting for the last (a few in flight). The three servers are shut down one after another
// (MigrateClients, WaitForClientsClose, MigrateClients) while a replacement starts beside each.
// At each migration the SDK re-sends its calls in flight (their completions are lost), while the
// service already forwards the client's next messages to the new server: without the ledger those
// re-sends run twice. What ran is read from the servers' "send" events (TRACE_SENDS), not from the
// store, which de-duplicates by id.
//
// ROLLING_WITHOUT_LEDGER=1 runs the same scenario without the ledger (no DELIVERY_LEDGER_URL):
// the exactly-once check fails (12–17 re-sends ran twice per run), which shows it can.
// Each MigrateClients server that leaves has its calls held, in the store, until its clients have
// moved: they are still running when the server SDK's shutdown ends. Microsoft.Azure.SignalR 1.34.0
// does not wait for them; without ChatServer's RunningCalls.cs the process exited ~100 ms after the
// FinAck with those calls cut short (a crash mid-call), their successors, forwarded to the new server
// ahead of the client's re-send, waited OrderWait (5 s) each for a predecessor queued behind them,
// and after three the dead server's running entry had expired and the re-send ran a second time
// (4 runs in 13 failed). With it, the leaving server waits for its calls, which finish and are
// recorded. ROLLING_HOLD=0 leaves the calls alone; ROLLING_LOGS=<dir> writes every process's log.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { EventEmitter } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniLoadBalancer } from "../../src/server/load-balancer.js";
import { MiniService } from "../../src/service/mini-service.js";
import { ChatServerProcess, ChatStoreServer, type ShutdownModeName } from "./azure-sdk-fixture.js";
import { helloFrom, until } from "./chat-fixture.js";
import { describeRedis, RedisServer } from "./redis-server.js";

const CLIENTS = 8;
/** Each client starts a send this often, without waiting for the last: a few are in flight at once. */
const SEND_EVERY_MS = 50;
const NAMED = new Set(["CallTimeoutError", "InvocationInterruptedError", "ConnectionStoppedError", "BufferFullError", "MessageTooLargeError"]);
const WITH_LEDGER = process.env.ROLLING_WITHOUT_LEDGER !== "1";
/** Hold a leaving MigrateClients server's calls in the store until its clients moved (see the header). */
const HOLD = process.env.ROLLING_HOLD !== "0";

class Sender extends EventEmitter<{ settled: [] }> {
  seq = 0;
  readonly resolved: number[] = [];
  readonly rejected: Array<{ seq: number; error: Error }> = [];
  readonly seen = { migrated: 0, resumedAfterExit: 0, retry: 0 };
  /** Every SDK event with its time, for ROLLING_LOGS. */
  readonly history: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly user: string, readonly conn: GracefulConnection) {
    super();
    conn.events.on("migrated", () => this.seen.migrated++);
    conn.events.on("resumed", (e) => e.reason === "exit" && this.seen.resumedAfterExit++);
    conn.events.on("retry", () => this.seen.retry++);
    conn.events.on("*", (type, e) => this.history.push(`${new Date().toISOString()} ${String(type)} ${JSON.stringify(e, (_k, v) => (v instanceof Error ? v.message : v))}`));
  }

  start(): void {
    this.timer = setInterval(() => {
      const seq = ++this.seq;
      this.conn
        .send("SendMessage", `${this.user}#${seq}`, this.user, seq, `hello ${seq}`)
        .then(() => this.resolved.push(seq), (error: Error) => this.rejected.push({ seq, error }))
        .then(() => this.emit("settled"));
    }, SEND_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get settled(): boolean {
    return this.resolved.length + this.rejected.length === this.seq && this.conn.inFlight === 0 && this.conn.buffered === 0;
  }
}

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);

describeRedis(`a rolling deploy of real ChatServer processes ${WITH_LEDGER ? "over the Redis ledger" : "WITHOUT the ledger (ROLLING_WITHOUT_LEDGER=1: expected to fail)"}`, () => {
  let service: MiniService;
  let redis: RedisServer;
  let store: ChatStoreServer;
  let lb: MiniLoadBalancer;
  const servers: ChatServerProcess[] = [];
  const senders: Sender[] = [];
  let env: Record<string, string> = {};
  let connectionString = "";

  /** Each process's shutdown mode (fixed at its start, SHUTDOWN_MODE). */
  const modes = new Map<string, ShutdownModeName>();
  const startServer = async (serverId: string, mode: ShutdownModeName) => {
    modes.set(serverId, mode);
    const s = await ChatServerProcess.start({ serverId, connectionString, mode, timeoutSeconds: 10, storeUrl: store.url, env });
    servers.push(s);
    return s;
  };
  const serverOf = (s: Sender) => service.connections().find((x) => x.connectionId === s.conn.connectionId)?.serverId;
  const onEverySender = (name: "settled") => senders.map((s) => ({ on: s.on.bind(s), off: s.off.bind(s), name }));
  const sdkEvent = (name: string) => senders.map((s) => ({ on: s.conn.events.on, off: s.conn.events.off, name }));
  /** Each sender has had `more` further sends resolved: traffic is flowing everywhere. */
  const flowing = (more: number) => {
    const target = new Map(senders.map((s) => [s, s.resolved.length + more]));
    return until(() => senders.every((s) => s.resolved.length >= target.get(s)!), onEverySender("settled"), 15_000, `${more} more sends resolved by every client`, () =>
      senders.map((s) => `${s.user}:${s.resolved.length}/${target.get(s)} ${s.conn.state}@${s.conn.serverId}`).join(" "),
    );
  };
  /** Every "send" event of every server process: "user#seq" in each server's log order. */
  const runsOn = (s: ChatServerProcess) => s.events.filter((e) => e.what === "send").map((e) => String(e.details.clientMsgId));

  beforeAll(async () => {
    [service, redis, store] = await Promise.all([MiniService.start(), RedisServer.start(), ChatStoreServer.start()]);
    connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    // Debug: the ledger logs its decisions ("… is a copy"), counted below.
    env = { TRACE_SENDS: "1", ...(WITH_LEDGER ? { DELIVERY_LEDGER_URL: redis.url, Logging__LogLevel__RedisDeliveryLedger: "Debug" } : {}) };
    lb = await MiniLoadBalancer.start({ servers: () => servers });
    await Promise.all([startServer("app-a", "MigrateClients"), startServer("app-b", "WaitForClientsClose"), startServer("app-c", "MigrateClients")]);
  }, 60_000);

  afterAll(async () => {
    // ROLLING_LOGS=<dir>: every app server's output and every client's SDK events, for diagnosis.
    const dir = process.env.ROLLING_LOGS;
    if (dir) {
      for (const s of servers) writeFileSync(join(dir, `rolling-${s.id}.log`), s.lines.join("\n"));
      writeFileSync(join(dir, "rolling-clients.log"), senders.map((s) => `${s.user} ${s.conn.clientId}\n  ${s.history.join("\n  ")}`).join("\n"));
    }
    for (const s of senders) s.stop();
    await Promise.allSettled(senders.map((s) => s.conn.stop()));
    await Promise.allSettled(servers.map((s) => s.kill()));
    await lb?.stop();
    await redis?.stop();
    await store?.stop();
    await service?.stop();
  }, 30_000);

  it("every resolved send ran exactly once across the servers, each sender in order; migrations and exits re-sent calls; nothing pending", async () => {
    const t0 = Date.now();
    let heldCalls = 0;
    for (let i = 0; i < CLIENTS; i++) {
      const hub = new HubConnectionBuilder().withUrl(lb.url("chat")).configureLogging(LogLevel.None).build();
      const s = new Sender(`u${i}`, new GracefulConnection(hub, { logger: { log: () => {} }, callTimeoutMs: 30_000 }));
      senders.push(s);
    }
    await Promise.all(senders.map(async (s) => {
      await s.conn.start();
      await helloFrom(s.conn);
    }));
    for (const s of senders) s.start();
    await flowing(3);

    /**
     * One step of the deploy: the replacement starts while `old` shuts down in its mode. In
     * MigrateClients, every call that reaches the store from `old` is held until all of its
     * clients have moved: those calls are still running there when the SDK re-sends them.
     */
    const roll = async (oldId: string, replacement: string) => {
      const old = servers.find((s) => s.id === oldId)!;
      const mode = modes.get(oldId)!;
      const onOld = senders.filter((s) => serverOf(s) === oldId);
      expect(onOld.length, `clients on ${oldId}`).toBeGreaterThan(0);
      const before = new Map(onOld.map((s) => [s, { ...s.seen }]));
      let release = () => {};
      let fresh: Promise<ChatServerProcess> | undefined;
      if (HOLD && mode === "MigrateClients") {
        const held = new Promise<void>((r) => (release = r));
        store.gate = (m) => (m.serverId === oldId ? (heldCalls++, held) : Promise.resolve());
      }
      try {
        fresh = startServer(replacement, "MigrateClients");
        const exited = old.stop();
        // Everyone off the old server: moved (MigrateClients) or reconnected and resumed elsewhere.
        const moved = (s: Sender) => (mode === "MigrateClients" ? s.seen.migrated > before.get(s)!.migrated : s.seen.resumedAfterExit > before.get(s)!.resumedAfterExit);
        await until(() => onOld.every(moved), [...sdkEvent("migrated"), ...sdkEvent("resumed")], 20_000, `clients of ${oldId} moved (${mode})`, () =>
          onOld.map((s) => `${s.user}:${s.conn.state}@${s.conn.serverId} ${JSON.stringify(s.seen)}`).join(" "),
        );
        release();
        expect(await exited, `${oldId} exit code`).toBe(0);
        // It waited for the calls it was running (RunningCalls.cs) instead of cutting them short.
        await fresh;
      } finally {
        release();
        store.gate = undefined;
        await fresh?.catch(() => {}); // listed in `servers` before afterAll stops them, even when a check failed
      }
      await flowing(3);
    };
    await roll("app-a", "app-d"); // MigrateClients
    await roll("app-b", "app-e"); // WaitForClientsClose
    await roll("app-c", "app-f"); // MigrateClients

    for (const s of senders) s.stop();
    await until(() => senders.every((s) => s.settled), onEverySender("settled"), 40_000, "every send settled", () =>
      senders.filter((s) => !s.settled).map((s) => `${s.user}: ${s.seq} sent, ${s.resolved.length} ok, ${s.rejected.length} rejected, ${s.conn.inFlight} in flight, ${s.conn.buffered} buffered, ${s.conn.state}`).join("; "),
    );
    const sendingMs = Date.now() - t0;

    // Every resolved send ran (its server logs the run before the completion leaves, but the line
    // may reach us a moment after it): wait for those lines, then count.
    const allRuns = () => servers.flatMap(runsOn);
    const count = () => {
      const n = new Map<string, number>();
      for (const id of allRuns()) n.set(id, (n.get(id) ?? 0) + 1);
      return n;
    };
    const notRun = () => senders.flatMap((s) => s.resolved.map((seq) => `${s.user}#${seq}`)).filter((id) => !count().has(id));
    await until(() => notRun().length === 0, servers.map((s) => ({ on: s.on.bind(s), off: s.off.bind(s), name: "line" })), 10_000, "a run of every resolved send", () => notRun().join(" "));

    const runs = count();
    const twice = [...runs].filter(([, n]) => n > 1).map(([id, n]) => `${id}×${n}@${servers.filter((s) => runsOn(s).includes(id)).map((s) => s.id).join("+")}`);
    const unnamed = senders.flatMap((s) => s.rejected.filter((r) => !NAMED.has(r.error.name)).map((r) => `${s.user}#${r.seq} ${r.error.name}: ${r.error.message}`));
    // Order on each server: a sender's runs in its log order (one connection's calls run one after
    // another there, and the ledger starts n only once n-1 is done).
    const serverOrder = servers.flatMap((srv) => senders.filter((s) => !increasing(runsOn(srv).filter((id) => id.startsWith(`${s.user}#`)).map((id) => Number(id.split("#")[1])))).map((s) => `${s.user}@${srv.id}`));
    // Order across servers: the store's ids (assigned as each run reaches it, the first run of an id
    // only) follow each sender's seq: with the ledger, n-1 was done before n began, wherever it ran.
    const storeOrder = senders.filter((s) => !increasing(store.messages.filter((m) => m.user === s.user).map((m) => m.seq))).map((s) => s.user);
    const resolvedUnstored = senders.flatMap((s) => s.resolved.filter((seq) => !store.has(s.user, seq)).map((seq) => `${s.user}#${seq}`));
    const total = senders.reduce((n, s) => n + s.seq, 0);
    const rejected = senders.flatMap((s) => s.rejected.map((r) => `${s.user}#${r.seq} ${r.error.name}`));
    const seen = senders.reduce((a, s) => ({ migrated: a.migrated + s.seen.migrated, resumedAfterExit: a.resumedAfterExit + s.seen.resumedAfterExit, retry: a.retry + s.seen.retry }), { migrated: 0, resumedAfterExit: 0, retry: 0 });
    const copies = servers.reduce((n, s) => n + s.lines.filter((l) => /RedisDeliveryLedger/.test(l) && /is a copy/.test(l)).length, 0);
    console.log(
      `rolling deploy (${WITH_LEDGER ? "Redis ledger" : "no ledger"}): ${total} sends in ${sendingMs} ms, ${total - rejected.length} resolved, ${rejected.length} rejected${rejected.length ? ` (${rejected.join(", ")})` : ""}; ` +
        `${allRuns().length} runs; ${heldCalls} calls held on a leaving server; ledger copies ${copies}; SDK events ${JSON.stringify(seen)}; ran twice: ${twice.length ? twice.join(" ") : "none"}`,
    );

    expect(twice, "sends that ran more than once").toEqual([]);
    expect(unnamed, "rejections without a named SDK error").toEqual([]);
    expect(serverOrder, "senders out of order in a server's log").toEqual([]);
    expect(storeOrder, "senders out of order in the store").toEqual([]);
    expect(resolvedUnstored, "resolved sends missing from the store").toEqual([]);
    // The deploy did what it says: migrations, exits, and re-sends of interrupted calls.
    expect(seen.migrated).toBeGreaterThan(0);
    expect(seen.resumedAfterExit).toBeGreaterThan(0);
    expect(seen.retry).toBeGreaterThan(0);
    // ...and the ledger answered re-sends of calls that had run as copies (each would be a second run without it).
    if (WITH_LEDGER) expect(copies).toBeGreaterThan(0);
    expect(senders.map((s) => [s.conn.inFlight, s.conn.buffered])).toEqual(senders.map(() => [0, 0]));
  }, 90_000);
});
