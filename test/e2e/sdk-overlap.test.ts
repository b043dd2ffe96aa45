// The `overlap` option end to end: 16 real clients chat through two WaitForClientsClose shutdowns
// with the make-before-break handoff on, and WITHOUT fetching History in onResume. Every accepted
// message must still reach every client exactly once and in per-sender order: nothing fell in a gap.
import { afterEach, describe, expect, it } from "vitest";
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

const N = 16;

const allBack = () => allBackIn(clients, () => kit.servers);

describe.each(SIGNALR_VERSIONS)("$name", (signalr) => {
it("16 clients chat through two WaitForClientsClose shutdowns with overlap on: no gap, no History, no duplicates", async () => {
  const store = new ChatStore();
  kit = await startKit({ hubs: { chat: chatHub(store) }, servers: 3 });
  clients = Array.from({ length: N }, (_, i) => new ChatClient(kit.balancer.url("chat"), `u${i}`, "room", {}, { overlap: true, fetchHistory: false, signalr }));
  const stats = { handoffs: 0, fallbacks: 0, duplicates: 0, gapMs: [] as number[], overlapMs: [] as number[] };
  for (const c of clients) {
    let began = 0;
    c.conn.events.on("reconnecting", (e) => {
      if (e.reason !== "exit") return;
      if (e.handoff) began = Date.now();
      else stats.fallbacks++;
    });
    c.conn.events.on("resumed", (e) => {
      if (e.reason !== "exit") return;
      stats.gapMs.push(e.gapMs);
      if (e.handoff) {
        stats.handoffs++;
        stats.overlapMs.push(Date.now() - began);
      }
    });
    c.conn.events.on("duplicateDropped", () => stats.duplicates++);
  }
  await Promise.all(clients.map((c) => c.conn.start()));
  await allBack();
  clients.forEach((c) => c.startChatting(40));
  await until(() => clients.every((c) => c.accepted.length >= 3), chatEvents(clients, "shown"), 5_000, "chat under way");

  let moved = 0;
  for (const server of [kit.servers[0]!, kit.servers[1]!] as MiniServer[]) {
    const onServer = kit.service.connections().filter((c) => c.serverId === server.id).map((c) => c.connectionId);
    moved += onServer.length;
    const report = await server.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 5_000 });
    expect(report.dropped).toBe(0);
    expect(report.closedByClients).toBe(onServer.length);
    // Each client's onExit work reached the old server before it left.
    for (const id of onServer) {
      const draft = store.serverLog.findIndex((e) => e.what === "draft" && e.connectionId === id);
      const left = store.serverLog.findIndex((e) => e.what === "left" && e.connectionId === id);
      expect(draft, `draft of ${id}`).toBeGreaterThanOrEqual(0);
      expect(draft).toBeLessThan(left);
    }
    await allBack();
    await kit.addServer();
  }
  clients.forEach((c) => c.stopChatting());
  await until(() => clients.every((c) => c.pendingInvokes === 0 && c.seq === c.accepted.length + c.sendErrors.length), chatEvents(clients, "settled"), 5_000, "sends settled");
  const expected = () => clients.reduce((n, c) => n + c.accepted.length, 0);
  await until(() => clients.every((r) => r.shown.size >= expected()), chatEvents(clients, "shown"), 10_000, "every accepted message shown everywhere", () =>
    clients.map((r) => `${r.user}:${r.shown.size}/${expected()}`).join(" "));

  expect(stats.handoffs).toBe(moved);
  expect(stats.fallbacks).toBe(0);
  expect(clients.flatMap((c) => c.sendErrors)).toEqual([]);
  for (const r of clients) {
    // Nothing came from History (it is never fetched), and no copy reached the app.
    expect(r.onlyFromHistory).toBe(0);
    expect(r.rawDeliveries, `${r.user} saw a duplicate`).toBe(r.shown.size);
    const arrival = [...r.shown.values()];
    for (const s of clients) {
      // Exactly once, in per-sender order: both in the order they arrived and by server-assigned id.
      const fromS = arrival.filter((m) => m.user === s.user).map((m) => m.seq);
      expect(fromS, `${r.user} got ${s.user}'s messages out of order`).toEqual([...s.accepted].sort((a, b) => a - b));
      const byId = [...fromS.map((seq) => store.byClientId.get(`${s.user}#${seq}`)!.id)];
      expect(byId).toEqual([...byId].sort((a, b) => a - b));
    }
  }
  // Every connection ended up in the room again (onResume ran on each new connection).
  expect(kit.service.connections().every((c) => c.groups.includes("room"))).toBe(true);
  expect(kit.service.connections()).toHaveLength(N); // the old connections are gone

  const total = clients.reduce((n, c) => n + c.shown.size, 0);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  console.log(
    `sdk overlap e2e: ${N} clients, 2 WaitForClientsClose rounds, ${stats.handoffs} handoffs (${stats.fallbacks} fallbacks); ` +
      `${total} deliveries, 0 missed, 0 from History; gapMs max ${Math.max(...stats.gapMs)}; ` +
      `overlap (handoff start → resumed) median ${med(stats.overlapMs)} ms, max ${Math.max(...stats.overlapMs)} ms; ${stats.duplicates} duplicate copies dropped by the SDK`,
  );
}, 60_000);
});
