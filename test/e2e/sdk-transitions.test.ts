// The SDK end to end: 20 real clients chatting through GracefulConnection while the kit's
// servers are shut down one after another in both modes, then one is killed.
import { afterEach, describe, expect, it } from "vitest";
import { InvocationInterruptedError } from "../../src/index.js";
import { GracefulShutdownMode, type MiniServer } from "../../src/testing/index.js";
import { ChatClient, ChatStore, allBack as allBackIn, chatEvents, chatHub, until, stopClients } from "./chat-fixture.js";
import { startKit, type Kit } from "./kit.js";
import { SIGNALR_VERSIONS } from "./signalr-versions.js";

let kit: Kit;
let clients: ChatClient[] = [];
afterEach(async () => {
  await stopClients(clients);
  clients = [];
  await kit?.close();
});

const N = 20;

const allBack = () => allBackIn(clients, () => kit.servers);

/** Every message any client had accepted is shown by every client. */
const allDelivered = () => {
  const expected = () => clients.reduce((n, c) => n + c.accepted.length, 0);
  return until(
    () => clients.every((r) => r.shown.size >= expected()),
    chatEvents(clients, "shown"),
    10_000,
    "every accepted message shown everywhere",
  );
};

function checkDelivery(): void {
  for (const r of clients) {
    const byId = [...r.shown.values()].sort((a, b) => a.id - b.id);
    const seen = new Set<string>();
    for (const s of clients) {
      const fromS = byId.filter((m) => m.user === s.user).map((m) => m.seq);
      // Exactly once, in per-sender order (the order the app shows: by server-assigned id).
      expect(fromS).toEqual([...fromS].sort((a, b) => a - b));
      expect(new Set(fromS).size).toBe(fromS.length);
      for (const seq of s.accepted) seen.add(`${s.user}#${seq}`);
      for (const seq of s.accepted) expect(fromS.includes(seq), `${r.user} missed ${s.user}#${seq}`).toBe(true);
    }
  }
}

async function gracefulRound(server: MiniServer, mode: GracefulShutdownMode, store: ChatStore) {
  const onServer = kit.service.connections().filter((c) => c.serverId === server.id).map((c) => c.connectionId);
  const report = await server.shutdown({ mode, timeoutMs: 5_000 });
  expect(report.dropped).toBe(0);
  if (mode === GracefulShutdownMode.MigrateClients) expect(report.migrated).toBe(onServer.length);
  else expect(report.closedByClients).toBe(onServer.length);
  if (mode === GracefulShutdownMode.WaitForClientsClose) {
    // Each client's onExit work reached the old server before that server saw it leave.
    for (const id of onServer) {
      const draft = store.serverLog.findIndex((e) => e.what === "draft" && e.connectionId === id);
      const left = store.serverLog.findIndex((e) => e.what === "left" && e.connectionId === id);
      expect(draft, `draft of ${id}`).toBeGreaterThanOrEqual(0);
      expect(store.serverLog[draft]!.serverId).toBe(server.id);
      expect(draft).toBeLessThan(left);
    }
  }
  await allBack();
  await kit.addServer();
  return { report, moved: onServer.length };
}

describe.each(SIGNALR_VERSIONS)("$name", (signalr) => {
it("20 clients keep chatting through WaitForClientsClose and MigrateClients shutdowns, then a kill", async () => {
  const store = new ChatStore();
  kit = await startKit({ hubs: { chat: chatHub(store) }, servers: 3 });
  clients = Array.from({ length: N }, (_, i) => new ChatClient(kit.balancer.url("chat"), `u${i}`, "room", {}, { signalr }));
  const migrated: number[] = [];
  const ignoredExits: number[] = [];
  clients.forEach((c, i) => {
    c.conn.events.on("migrated", () => (migrated[i] = (migrated[i] ?? 0) + 1));
    c.conn.events.on("exitIgnored", () => (ignoredExits[i] = (ignoredExits[i] ?? 0) + 1));
  });
  await Promise.all(clients.map((c) => c.conn.start()));
  await allBack();
  clients.forEach((c) => c.startChatting(40));
  await until(() => clients.every((c) => c.accepted.length >= 3), chatEvents(clients, "shown"), 5_000, "chat under way");

  const rounds = [];
  rounds.push(await gracefulRound(kit.servers[0]!, GracefulShutdownMode.WaitForClientsClose, store));
  rounds.push(await gracefulRound(kit.servers[1]!, GracefulShutdownMode.MigrateClients, store));
  rounds.push(await gracefulRound(kit.servers[2]!, GracefulShutdownMode.WaitForClientsClose, store));
  rounds.push(await gracefulRound(kit.servers[3]!, GracefulShutdownMode.MigrateClients, store));

  // Graceful rounds cost nothing: no send refused, every accepted message everywhere, once, in order.
  clients.forEach((c) => c.stopChatting());
  await allDelivered();
  checkDelivery();
  expect(clients.flatMap((c) => c.sendErrors)).toEqual([]);
  expect(migrated.reduce((a, b) => a + (b ?? 0), 0)).toBe(rounds[1]!.moved + rounds[3]!.moved);
  // Clients of healthy servers heard each exit broadcast and ignored it.
  expect(ignoredExits.reduce((a, b) => a + (b ?? 0), 0)).toBeGreaterThan(0);
  // onResume re-joined the room on every new connection: a room message reaches all 20.
  expect(kit.service.connections().every((c) => c.groups.includes("room"))).toBe(true);
  const roomHits = clients.map((c) => new Promise<void>((r) => c.conn.on("roomMessage", () => r())));
  await clients[0]!.conn.invoke("ToRoom", "room", "all here?");
  await Promise.all(roomHits);
  // No invoke() left pending; the only rejections are named, retryable interruptions.
  await until(() => clients.every((c) => c.pendingInvokes === 0), chatEvents(clients, "settled"), 5_000, "no pending invokes");
  for (const e of clients.flatMap((c) => c.invokes.rejected)) expect(e).toBeInstanceOf(InvocationInterruptedError);
  const rawDups = clients.reduce((n, c) => n + c.rawDeliveries - c.shown.size, 0);
  const viaHistory = clients.reduce((n, c) => n + c.onlyFromHistory, 0);

  // A crash: every client is back and chatting quickly; count what it cost.
  clients.forEach((c) => c.startChatting(40));
  const victim = kit.servers.find((s) => s.isRunning && s.connectionCount > 0)!;
  const acceptedBefore = clients.map((c) => c.accepted.length);
  const killedAt = Date.now();
  await victim.kill();
  await allBack();
  const backMs = Date.now() - killedAt;
  if (process.env.DEBUG_SDK_E2E) for (const c of clients) console.log(c.user, c.history.slice(-8).join("\n   "));
  const chatting = clients.map((c) => c.accepted.length + 2);
  await until(() => clients.every((c, i) => c.accepted.length >= chatting[i]!), chatEvents(clients, "shown"), 5_000, "chatting again");
  clients.forEach((c) => c.stopChatting());
  await until(() => clients.every((c) => c.pendingInvokes === 0 && c.seq === c.accepted.length + c.sendErrors.length), chatEvents(clients, "settled"), 5_000, "sends settled");
  const lost = clients.flatMap((c, i) => c.accepted.slice(acceptedBefore[i]).filter((seq) => !store.byClientId.has(`${c.user}#${seq}`)).map((seq) => `${c.user}#${seq}`));
  // A dead server runs nothing more: a message it stored just before dying may never have
  // been broadcast. Clients that did not move never re-fetched; an app's next catch-up finds it.
  const caughtUp = (await Promise.all(clients.map((c) => c.catchUp()))).reduce((a, b) => a + b, 0);
  console.log(`sdk e2e: ${rounds.length} graceful rounds lost 0 messages (${viaHistory} broadcasts fell in a client's reconnect gap and came from the app's History fetch in onResume, ${rawDups} raw duplicates dropped by id); kill: all ${N} back in ${backMs} ms, ${lost.length} in-flight message(s) lost, ${caughtUp} stored message(s) whose broadcast died with the server reached clients only by a History catch-up`);
  expect(backMs).toBeLessThan(1_000);
  // Whatever survived the crash is shown everywhere, exactly once.
  for (const c of clients) c.accepted.splice(0, c.accepted.length, ...c.accepted.filter((seq) => store.byClientId.has(`${c.user}#${seq}`)));
  await allDelivered();
  checkDelivery();
}, 60_000);
});
