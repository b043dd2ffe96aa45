// The delivery guarantee (issue 9): a send() that resolves was run by a hub, one that cannot be
// delivered rejects with a named error, per-sender order holds, every call settles within a bound.
// One test per case the issue lists, each asserting the whole ordered log.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { FakeHubConnection } from "./fake-hub-connection";
import { setup, started, tick, track, type Harness } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

/** With delivery markers on. */
function deliverySetup(options: Parameters<typeof setup>[0] = {}): Harness {
  return setup({ deliveryIds: true, ...options });
}

/** The log with the random client id shown as "cid". */
const logOf = (h: Harness) => h.log.map((l) => l.replace(h.conn.clientId, "cid"));

/** The server answers the newest pending invocation of `method` whose first argument is `arg`. */
function answer(hub: FakeHubConnection, method: string, arg: unknown, result?: unknown): void {
  const p = [...hub.invocations.values()].filter((i) => i.method === method && i.args[0] === arg).pop();
  if (!p) throw new Error(`no pending ${method} ${String(arg)}`);
  hub.invocations.delete(p.id);
  p.resolve(result);
}

describe("delivery guarantee", () => {
  it("1. sends in flight when an exit comes survive a drain budget shorter than the call ahead of them: re-sent with the same delivery ids", async () => {
    const h = deliverySetup({ drainTimeoutMs: 1_000 });
    const { hub, conn, log } = h;
    hub.autoComplete = () => false; // the old server is stuck behind the long call
    await started(h, "A");
    const slow = track(log, "Slow", conn.invoke("Slow"));
    const s1 = track(log, "s1", conn.send("Chat", 1)); // Connected: to the old connection, no receipt yet
    const s2 = track(log, "s2", conn.send("Chat", 2));
    hub.deliver("exit", { serverId: "A" });
    await tick(1_000); // budget out: the old connection is closed with Slow, s1, s2 in flight
    hub.deliver("graceful.hello", { serverId: "B" });
    hub.complete("Chat"); // the new server runs the re-sends (or skips a copy) and answers
    hub.complete("Chat");
    await Promise.all([slow, s1, s2]);
    expect(logOf(h)).toEqual([
      "hub.invoke Slow",
      "hub.send GracefulDelivery cid,1,0",
      "hub.invoke Chat 1",
      "hub.send GracefulDelivery cid,2,0",
      "hub.invoke Chat 2",
      "state Draining",
      "exit A",
      "draining 1000ms",
      "state Reconnecting",
      "hub.stop",
      "Slow rejected InvocationInterruptedError exit",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "hub.send GracefulDelivery cid,1,0", // the same numbers: a copy the old server ran is skipped
      "hub.invoke Chat 1",
      "retry Chat exit #2",
      "hub.send GracefulDelivery cid,2,0",
      "hub.invoke Chat 2",
      "retry Chat exit #2",
      "state Connected",
      "resumed exit c2 flushed=2",
      "server B",
      "s1 resolved",
      "s2 resolved",
    ]);
  });

  it("2. per-sender order across a migration with a backlog: unacknowledged sends are re-sent, later ones wait until they settled", async () => {
    const h = deliverySetup();
    const { hub, conn, log } = h;
    hub.autoComplete = () => false;
    await started(h, "A");
    const s1 = track(log, "s1", conn.send("Chat", 1));
    const s2 = track(log, "s2", conn.send("Chat", 2)); // both queued behind each other on A
    hub.deliver("graceful.hello", { serverId: "B", migratedFrom: "A" }); // A's answers are lost
    await tick();
    const s3 = track(log, "s3", conn.send("Chat", 3));
    await tick();
    answer(hub, "Chat", 1); // B answers the re-sent 1 (a copy of what A ran: skipped by the server's ledger)
    await tick();
    expect(log).not.toContain("hub.invoke Chat 3"); // 2 is still unsettled
    answer(hub, "Chat", 2);
    await tick();
    answer(hub, "Chat", 3);
    await Promise.all([s1, s2, s3]);
    expect(logOf(h)).toEqual([
       "hub.send GracefulDelivery cid,1,0",
       "hub.invoke Chat 1",
       "hub.send GracefulDelivery cid,2,0",
       "hub.invoke Chat 2",
       "server B",
       "migrated A->B c1",
       "hub.send GracefulDelivery cid,1,0",
       "hub.invoke Chat 1",
       "retry Chat migrated #2",
       "hub.send GracefulDelivery cid,2,0",
       "hub.invoke Chat 2",
       "retry Chat migrated #2",
       "resumed migrated c1 flushed=0",
       "s1 resolved",
       "hub.send GracefulDelivery cid,3,2",
       "hub.invoke Chat 3",
       "s2 resolved",
       "s3 resolved",
    ]);
  });

  it("3. ctx.invoke in onResume follows the same rules: a migration while it is in flight rejects it with a named error, never hangs", async () => {
    const h = deliverySetup();
    const { hub, conn, log } = h;
    await started(h, "A");
    conn.onResume(async (ctx) => {
      log.push(`onResume ${ctx.reason}`);
      await track(log, "Join", ctx.invoke("Join", "room"));
    });
    hub.drop();
    await tick(); // reconnected, onResume's Join in flight
    hub.deliver("graceful.hello", { serverId: "B", migratedFrom: "A2" });
    await tick();
    hub.complete("Join", undefined, true);
    await tick();
    expect(conn.state).toBe("Connected");
    expect(logOf(h)).toEqual([
       "hub.drop",
       "state Reconnecting",
       "reconnecting dropped #1 in 0ms",
       "hub.start",
       "reconnected dropped c2",
       "onResume dropped",
       "hub.invoke Join room",
       "server B",
       "migrated A2->B c2",
       "Join rejected InvocationInterruptedError migrated",
       "state Connected",
       "resumed dropped c2 flushed=0",
       "onResume migrated",
       "hub.invoke Join room",
       "Join resolved",
       "resumed migrated c2 flushed=0",
    ]);
  });

  it("4. bounded retries: an oversized message is refused before sending; repeated interruptions stop the re-sends; a Close that disallows reconnecting is honoured", async () => {
    const h = deliverySetup({ maxInterruptions: 1, maxMessageBytes: 1_024 });
    const { hub, conn, log } = h;
    hub.autoComplete = () => false;
    await started(h, "A");
    const big = track(log, "big", conn.send("Chat", "x".repeat(2_000)));
    const s1 = track(log, "s1", conn.send("Chat", 1));
    await tick();
    hub.drop(); // interruption 1: re-sent
    await tick();
    hub.drop(); // interruption 2: over maxInterruptions
    await tick();
    const s2 = track(log, "s2", conn.send("Chat", 2));
    hub.closeFromServer("Connection closed with an error.", false);
    await tick();
    await Promise.all([big, s1, s2]);
    expect(conn.state).toBe("Disconnected");
    expect(hub.startCalls).toBe(3);
    expect(logOf(h)).toEqual([
       "hub.send GracefulDelivery cid,1,0",
       "hub.invoke Chat 1",
       "big rejected MessageTooLargeError",
       "hub.drop",
       "state Reconnecting",
       "reconnecting dropped #1 in 0ms",
       "hub.start",
       "reconnected dropped c2",
       "hub.send GracefulDelivery cid,1,0",
       "hub.invoke Chat 1",
       "retry Chat dropped #2",
       "state Connected",
       "resumed dropped c2 flushed=1",
       "hub.drop",
       "undelivered Chat InvocationInterruptedError",
       "state Reconnecting",
       "reconnecting dropped #1 in 0ms",
       "hub.start",
       "s1 rejected InvocationInterruptedError dropped",
       "reconnected dropped c3",
       "state Connected",
       "resumed dropped c3 flushed=0",
       "hub.send GracefulDelivery cid,2,1",
       "hub.invoke Chat 2",
       "hub.close noReconnect",
       "undelivered Chat ConnectionStoppedError",
       "state Disconnected",
       "closed serverClosed",
       "s2 rejected ConnectionStoppedError serverClosed",
    ]);
  });

  it("5. at most one re-send per migration, however often the server repeats the notice", async () => {
    const h = deliverySetup({ retryableMethods: ["Echo"] });
    const { hub, conn, log } = h;
    await started(h, "A");
    const echo = track(log, "Echo", conn.invoke("Echo", 1));
    for (let i = 0; i < 50; i++) hub.deliver("graceful.hello", { serverId: "B", migratedFrom: "A" });
    await tick();
    hub.complete("Echo", "ok", true);
    await echo;
    expect(logOf(h)).toEqual([
       "hub.invoke Echo 1",
       "server B",
       "migrated A->B c1",
       "hub.invoke Echo 1",
       "retry Echo migrated #2",
       "resumed migrated c1 flushed=0",
       "Echo resolved ok",
    ]);
    expect(h.warnings).toEqual([]);
  });

  it("6. every call settles within its bound: callTimeoutMs, a per-call override, and during an outage", async () => {
    const h = deliverySetup({ callTimeoutMs: 5_000 });
    const { hub, conn, log } = h;
    await started(h, "A");
    const never = track(log, "Never", conn.invoke("Never"));
    const quick = track(log, "Quick", conn.withTimeout(100).invoke("Quick"));
    await tick(100);
    await tick(4_900);
    hub.startOutcomes.push("hold");
    hub.drop();
    const outage = track(log, "Outage", conn.invoke("Outage"));
    const outageSend = track(log, "outageSend", conn.send("Chat", "x"));
    await tick(4_900);
    await tick(100);
    await Promise.all([never, quick, outage, outageSend]);
    expect(logOf(h)).toEqual([
       "hub.invoke Never",
       "hub.invoke Quick",
       "Quick rejected CallTimeoutError",
       "Never rejected CallTimeoutError",
       "hub.drop",
       "state Reconnecting",
       "reconnecting dropped #1 in 0ms",
       "hub.start",
       "undelivered Outage CallTimeoutError",
       "undelivered Chat CallTimeoutError",
       "Outage rejected CallTimeoutError",
       "outageSend rejected CallTimeoutError",
    ]);
  });

  it("7. server inputs are capped: an over-long server id in a hello or an exit is refused and logged", async () => {
    const h = deliverySetup();
    const { hub, conn, log } = h;
    await started(h, "A");
    const huge = "s".repeat(2_000_000);
    hub.deliver("graceful.hello", { serverId: huge });
    hub.deliver("graceful.hello", { serverId: "B", migratedFrom: huge });
    hub.deliver("exit", { serverId: huge });
    await tick();
    expect(conn.serverId).toBe("A");
    expect(conn.state).toBe("Connected");
    expect(logOf(h)).toEqual([]);
    expect(h.warnings.map((w) => w.split(" ")[0])).toEqual([ // codes: docs/client.md "Log codes"
       "SG14",
       "SG14",
       "SG8",
    ]);
  });
});

describe("exit for MigrateClients (issue 10)", () => {
  it("waits for the migration instead of draining", async () => {
    const h = deliverySetup();
    const { hub, conn, log } = h;
    await started(h, "A");
    hub.deliver("exit", { serverId: "A", mode: "MigrateClients", timeoutMs: 30_000 });
    await tick(1_000);
    hub.deliver("graceful.hello", { serverId: "B", migratedFrom: "A" });
    await tick(10_000);
    expect(hub.startCalls).toBe(1);
    expect(logOf(h)).toEqual([
       "exit A 30000ms",
       "server B",
       "migrated A->B c1",
       "resumed migrated c1 flushed=0",
    ]);
  });

  it("drains after migrationWaitMs when no migration comes; a mode-less exit drains at once", async () => {
    const h = deliverySetup({ migrationWaitMs: 2_000 });
    const { hub, conn, log } = h;
    await started(h, "A");
    hub.deliver("exit", { serverId: "A", mode: "MigrateClients" });
    await tick(2_000);
    hub.deliver("graceful.hello", { serverId: "B" });
    hub.deliver("exit", { serverId: "B" });
    await tick();
    expect(conn.state).toBe("Connected");
    expect(logOf(h)).toEqual([
       "exit A",
       "state Draining",
       "draining 25000ms",
       "state Reconnecting",
       "hub.stop",
       "reconnecting exit #1 in 0ms",
       "hub.start",
       "reconnected exit c2",
       "state Connected",
       "resumed exit c2 flushed=0",
       "server B",
       "state Draining",
       "exit B",
       "draining 25000ms",
       "state Reconnecting",
       "hub.stop",
       "reconnecting exit #1 in 0ms",
       "hub.start",
       "reconnected exit c3",
       "state Connected",
       "resumed exit c3 flushed=0",
    ]);
  });
});

describe("retryNow() and the graceful=1 mark", () => {
  it("cuts the reconnect delay short; marks the hub URL once", async () => {
    const h = deliverySetup();
    const { hub, conn, log } = h;
    expect(hub.baseUrl).toBe("http://host/chat?graceful=1");
    await started(h, "A");
    hub.startOutcomes.push(new Error("down"));
    hub.drop();
    await tick();
    expect(conn.retryNow()).toBe(true);
    await tick();
    expect(conn.retryNow()).toBe(false);
    expect(conn.state).toBe("Connected");
    expect(hub.baseUrl).toBe("http://host/chat?graceful=1");
    expect(logOf(h)).toEqual([
       "hub.drop",
       "state Reconnecting",
       "reconnecting dropped #1 in 0ms",
       "hub.start",
       "reconnecting dropped #2 in 500ms",
       "hub.start",
       "reconnected dropped c2",
       "state Connected",
       "resumed dropped c2 flushed=0",
    ]);
  });
});
