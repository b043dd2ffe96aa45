// Chaos: 3 app servers, 30 GracefulConnection clients chatting, 6 rounds of rolling
// shutdowns alternating WaitForClientsClose and MigrateClients, with kills in between; a
// fresh server replaces each one that leaves, so 3 stay up.
//
// The chat is built the way a real app must be for "zero loss" to mean anything: while a
// client is between its old and new connection, broadcasts don't reach it, so the hub keeps
// a history (an in-memory store standing for the app's database, one global increasing id per
// message) and every client's onResume fetches what it missed and de-duplicates by message id.
// SendMessage is idempotent by the client-generated id, so the SDK may re-send it.
import { afterAll, beforeAll, expect, it } from "vitest";
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { GracefulConnection } from "../../src/index.js";
import { GracefulShutdownMode, Hub, MiniServer } from "../../src/testing/index.js";
import { startKit, type Kit } from "../e2e/kit.js";

interface ChatMessage {
  id: string;
  sender: string;
  seq: number;
}
interface Stored extends ChatMessage {
  gid: number;
}

/** The app's database: every message once, by client id, in global order. */
const store = { nextGid: 1, list: [] as Stored[], byId: new Map<string, Stored>(), repeats: 0 };

class Chat extends Hub {
  async sendMessage(m: ChatMessage) {
    const known = store.byId.get(m.id);
    if (known) {
      store.repeats++; // a re-send whose first attempt did reach us: answer, don't broadcast again
      return known.gid;
    }
    const s: Stored = { id: m.id, sender: m.sender, seq: m.seq, gid: store.nextGid++ };
    store.list.push(s);
    store.byId.set(s.id, s);
    await this.clients.all.send("message", s);
    return s.gid;
  }
  history(after: number) {
    return store.list.filter((s) => s.gid > after);
  }
}

const CLIENTS = 30;
const SEND_EVERY_MS = 200;
const SHUTDOWN_TIMEOUT_MS = 3_000;
const WAIT_MS = 10_000;

type Phase = "steady" | "graceful" | "kill";

interface Client {
  name: string;
  conn: GracefulConnection;
  /** De-duplicated view, by client message id. */
  seen: Map<string, Stored>;
  /** Highest gid up to which this client has every message: what it asks History for. */
  watermark: number;
  gids: Set<number>;
  liveIds: Set<string>;
  rawDuplicates: number;
  liveDuplicates: number;
  seq: number;
  timer?: NodeJS.Timeout;
}

let kit: Kit;
const clients: Client[] = [];
let phase: Phase = "steady";
const resolved = new Map<string, { sender: string; seq: number }>();
const rejectedIn: Record<Phase, string[]> = { steady: [], graceful: [], kill: [] };
const sdkErrors: unknown[] = [];
const pendingSends = new Set<Promise<unknown>>();
let serverCount = 0;

function accept(c: Client, s: Stored, live: boolean): void {
  if (c.seen.has(s.id)) {
    c.rawDuplicates++;
    if (live && c.liveIds.has(s.id)) c.liveDuplicates++;
  } else c.seen.set(s.id, s);
  if (live) c.liveIds.add(s.id);
  c.gids.add(s.gid);
  while (c.gids.has(c.watermark + 1)) c.watermark++;
  changed();
}

/** Re-checks every waiter on any change: events, not sleeps. */
const waiters = new Set<() => void>();
const changed = () => waiters.forEach((w) => w());

function waitUntil(what: string, cond: () => boolean, ms = WAIT_MS, detail: () => string = () => ""): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!cond()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting until ${what} ${detail()}`));
    }, ms);
    waiters.add(check);
  });
}

const liveServerIds = () => new Set(kit.servers.filter((s) => s.isRunning).map((s) => s.id));

/** Clients not yet usable again on a running server (as the service also sees it). */
function stragglers(gone: string): Client[] {
  const live = liveServerIds();
  const byService = new Map(kit.service.connections().map((c) => [c.connectionId, c.serverId]));
  return clients.filter((c) => {
    const id = c.conn.connectionId;
    return !(c.conn.state === "Connected" && c.conn.serverId !== undefined && live.has(c.conn.serverId) && c.conn.serverId !== gone && id !== undefined && byService.get(id) === c.conn.serverId);
  });
}
const allBack = (gone: string) => stragglers(gone).length === 0;
const describeStragglers = (gone: string) => () =>
  stragglers(gone)
    .map((c) => `${c.name}: ${c.conn.state} on ${c.conn.serverId ?? "?"} (service: ${kit.service.connections().find((x) => x.connectionId === c.conn.connectionId)?.serverId ?? "none"})`)
    .join("; ");

async function makeClient(i: number): Promise<Client> {
  const hub = new HubConnectionBuilder().withUrl(`${kit.balancer.url("chat")}?user=u${i}`).configureLogging(LogLevel.None).build();
  const conn = new GracefulConnection(hub, {
    drainTimeoutMs: 500,
    retryableMethods: ["SendMessage", "History"],
    reconnectPolicy: { nextRetryDelayInMilliseconds: (r) => (r.previousRetryCount === 0 ? 0 : 50 + Math.random() * 100) },
    resumeTimeoutMs: 5_000,
    logger: { log: () => {} },
  });
  const c: Client = { name: `u${i}`, conn, seen: new Map(), watermark: 0, gids: new Set(), liveIds: new Set(), rawDuplicates: 0, liveDuplicates: 0, seq: 0 };
  conn.on("message", (s: Stored) => accept(c, s, true));
  conn.onResume(async (ctx) => {
    const missed = await ctx.invoke<Stored[]>("History", c.watermark);
    for (const s of missed) accept(c, s, false);
  });
  conn.events.on("error", (e) => sdkErrors.push(e));
  for (const ev of ["state", "resumed", "server", "migrated"] as const) conn.events.on(ev, changed);
  await conn.start();
  return c;
}

function startChatting(c: Client): void {
  c.timer = setInterval(() => {
    const seq = ++c.seq;
    const m: ChatMessage = { id: `${c.name}-${seq}`, sender: c.name, seq };
    const p = c.conn.invoke("SendMessage", m).then(
      () => void resolved.set(m.id, { sender: m.sender, seq: m.seq }),
      () => void rejectedIn[phase].push(m.id),
    );
    pendingSends.add(p);
    void p.finally(() => pendingSends.delete(p));
  }, SEND_EVERY_MS + Math.floor(Math.random() * 50));
}

async function addServer(): Promise<MiniServer> {
  return kit.addServer(`server-${++serverCount}`);
}

beforeAll(async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 0 });
  for (let i = 0; i < 3; i++) await addServer();
  kit.service.on("clientConnected", changed);
  kit.service.on("clientDisconnected", changed);
  kit.service.on("clientMigrated", changed);
  for (let i = 0; i < CLIENTS; i++) clients.push(await makeClient(i));
});

afterAll(async () => {
  for (const c of clients) clearInterval(c.timer);
  await Promise.all(clients.map((c) => c.conn.stop()));
  await kit?.close();
});

it("zero loss, zero duplicates, per-sender order through 6 rolling shutdowns and kills", async () => {
  clients.forEach(startChatting);
  const sentBefore = () => resolved.size;
  const rounds: string[] = [];
  for (let round = 1; round <= 6; round++) {
    const mode = round % 2 === 1 ? GracefulShutdownMode.WaitForClientsClose : GracefulShutdownMode.MigrateClients;
    // Rolling: the oldest running server leaves, a fresh one takes its place.
    const leaving = kit.servers.find((s) => s.isRunning)!;
    const flowing = sentBefore();
    await waitUntil("messages flow before the round", () => sentBefore() >= flowing + 2 * CLIENTS);
    const onIt = leaving.connectionCount;
    phase = "graceful";
    const report = await leaving.shutdown({ mode, timeoutMs: SHUTDOWN_TIMEOUT_MS });
    await addServer();
    await waitUntil(`every client is back after round ${round}`, () => allBack(leaving.id), WAIT_MS, describeStragglers(leaving.id));
    phase = "steady";
    expect(report, `round ${round}`).toMatchObject({ dropped: 0, timedOut: false });
    if (mode === GracefulShutdownMode.MigrateClients) expect(report.migrated).toBe(onIt);
    rounds.push(`${report.modeName} ${report.serverId}: ${onIt} clients, ${report.durationMs} ms`);

    if (round === 2 || round === 4) {
      const victim = kit.servers.find((s) => s.isRunning)!;
      phase = "kill";
      await victim.kill();
      await addServer();
      await waitUntil(`every client is back after the kill of ${victim.id}`, () => allBack(victim.id), WAIT_MS, describeStragglers(victim.id));
      phase = "steady";
      rounds.push(`kill ${victim.id}`);
    }
  }

  // Stop typing, let every call settle, then every client must hold every delivered message.
  for (const c of clients) clearInterval(c.timer);
  await Promise.race([Promise.allSettled([...pendingSends]), new Promise((r) => setTimeout(r, WAIT_MS))]);
  expect(pendingSends.size, "calls still pending").toBe(0);
  const missing = () => clients.flatMap((c) => [...resolved.keys()].filter((id) => !c.seen.has(id)).map((id) => `${c.name} lacks ${id}`));
  await waitUntil("every client has every message", () => missing().length === 0).catch(() => {});
  expect(missing().slice(0, 10)).toEqual([]);

  // Each message stored once (the idempotent hub absorbed re-sends), each sender in order.
  expect(store.list.length).toBe(new Set(store.list.map((s) => s.id)).size);
  for (const c of clients) {
    const view = [...c.seen.values()].sort((a, b) => a.gid - b.gid);
    const last = new Map<string, number>();
    for (const s of view) {
      expect(s.seq, `${c.name} sees ${s.sender} out of order`).toBeGreaterThan(last.get(s.sender) ?? 0);
      last.set(s.sender, s.seq);
    }
    expect(c.liveDuplicates, `${c.name} got a broadcast twice on live connections`).toBe(0);
  }
  expect(rejectedIn.graceful, "sends the SDK rejected during graceful rounds").toEqual([]);
  expect(rejectedIn.steady, "sends rejected between rounds").toEqual([]);
  expect(sdkErrors).toEqual([]);

  const raw = clients.reduce((n, c) => n + c.rawDuplicates, 0);
  console.log(
    `chaos: ${resolved.size} messages × ${CLIENTS - 1} receivers, 0 lost; ${raw} raw duplicates removed by id ` +
      `(history overlap), ${store.repeats} re-sends absorbed by the hub, ${rejectedIn.kill.length} sends rejected during kills\n  ` +
      rounds.join("\n  "),
  );
}, 60_000);
