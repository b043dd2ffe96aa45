import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BufferFullError, ConnectionStoppedError } from "../../src/index";
import { setup, started, tick, track } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("dropped connection", () => {
  it("backs off by the policy, resumes, re-sends the interrupted call first, then the buffer in order once it settled", async () => {
    const h = setup({ retryableMethods: ["Retryable"] });
    const { hub, conn, log } = h;
    await started(h, "A");
    conn.onResume(async (ctx) => { log.push(`onResume ${ctx.reason} prev=${ctx.previousConnectionId}`); });
    const plain = track(log, "Plain", conn.invoke("Plain"));
    const retryable = track(log, "Retryable", conn.invoke("Retryable"));
    hub.startOutcomes.push(new Error("negotiate failed"), new Error("negotiate failed"));
    hub.drop(new Error("1006"));
    const sends = [1, 2, 3].map((i) => track(log, `send${i}`, conn.send("Chat", i)));
    await tick();
    expect(conn.state).toBe("Reconnecting");
    await tick(499); // random() = 0.5: second delay = 0.5 · min(30 s, 500 · 2¹) = 500 ms
    expect(hub.startCalls).toBe(2);
    await tick(1 + 1_000); // third delay = 0.5 · 2000
    hub.complete("Retryable", "r");
    await Promise.all([plain, retryable, ...sends]);
    expect(log).toEqual([
      "hub.invoke Plain",
      "hub.invoke Retryable",
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "Plain rejected InvocationInterruptedError dropped",
      "reconnecting dropped #2 in 500ms",
      "hub.start",
      "reconnecting dropped #3 in 1000ms",
      "hub.start",
      "reconnected dropped c2",
      "onResume dropped prev=c1",
      "hub.invoke Retryable",
      "retry Retryable dropped #2",
      "state Connected",
      "resumed dropped c2 flushed=1",
      // the server changed: later calls wait until the re-sent one settled (per-sender order)
      "hub.invoke Chat 1",
      "hub.invoke Chat 2",
      "hub.invoke Chat 3",
      "Retryable resolved r",
      "send1 resolved",
      "send2 resolved",
      "send3 resolved",
    ]);
  });

  it("gives up when the policy returns null: buffer rejected with ConnectionStoppedError, closed", async () => {
    const h = setup({ reconnectPolicy: { nextRetryDelayInMilliseconds: (c) => (c.previousRetryCount < 1 ? 0 : null) } });
    await started(h);
    h.hub.startOutcomes.push(new Error("down"));
    h.hub.drop();
    const s = track(h.log, "send", h.conn.send("Chat", "x"));
    await tick();
    expect(await s).toBeInstanceOf(ConnectionStoppedError);
    expect(h.log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "undelivered Chat ConnectionStoppedError",
      "state Disconnected",
      "closed retriesExhausted",
      "send rejected ConnectionStoppedError retriesExhausted",
    ]);
    await expect(h.conn.send("Chat", "later")).rejects.toMatchObject({ name: "ConnectionStoppedError", reason: "retriesExhausted" });
  });

  it("rejects the NEW message with BufferFullError when the buffer is full (old ones kept)", async () => {
    const h = setup({ maxBufferedMessages: 2 });
    await started(h);
    h.hub.startOutcomes.push("hold");
    h.hub.drop();
    const a = track(h.log, "a", h.conn.send("Chat", "a"));
    const b = track(h.log, "b", h.conn.invoke("Echo", "b"));
    const c = track(h.log, "c", h.conn.send("Chat", "c"));
    await tick();
    expect(await c).toBeInstanceOf(BufferFullError);
    expect(h.conn.buffered).toBe(2);
    h.hub.releaseStart();
    await tick();
    h.hub.complete("Echo", "b!");
    await Promise.all([a, b]);
    expect(h.log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "undelivered Chat BufferFullError",
      "c rejected BufferFullError",
      "reconnected dropped c2",
      "hub.invoke Chat a",
      "hub.invoke Echo b",
      "state Connected",
      "resumed dropped c2 flushed=2",
      "a resolved",
      "b resolved b!",
    ]);
  });

  it("keeps the rest in order when the connection dies mid-flush, and sends it after the next resume", async () => {
    const h = setup();
    await started(h);
    h.hub.startOutcomes.push("hold");
    h.hub.drop();
    const sends = [1, 2, 3].map((i) => track(h.log, `send${i}`, h.conn.send("Chat", i)));
    let dropped = false;
    h.hub.onSend = (_m, args) => { if (args[0] === 2 && !dropped) { dropped = true; h.hub.drop(); } };
    await tick();
    h.hub.releaseStart();
    await tick();
    await Promise.all(sends);
    expect(h.log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c2",
      "hub.invoke Chat 1",
      "hub.invoke Chat 2",
      "hub.drop",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c3",
      // 1 and 2 were in flight without a receipt: re-sent first (the server de-duplicates by delivery id)…
      "hub.invoke Chat 1",
      "retry Chat dropped #2",
      "hub.invoke Chat 2",
      "retry Chat dropped #2",
      "state Connected",
      "resumed dropped c3 flushed=2",
      "send1 resolved",
      // …and 3 goes once they settled
      "hub.invoke Chat 3",
      "send2 resolved",
      "send3 resolved",
    ]);
    expect(h.hub.sent.map((s) => s.args[0])).toEqual([1, 2, 3]);
  });

  it("buffers a direct send whose connection died under it", async () => {
    const h = setup();
    await started(h);
    h.hub.onSend = () => { h.hub.onSend = undefined; h.hub.drop(); };
    const s = track(h.log, "send", h.conn.send("Chat", "x"));
    await tick();
    await s;
    expect(h.log).toEqual([
      "hub.invoke Chat x",
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c2",
      "hub.invoke Chat x",
      "retry Chat dropped #2",
      "state Connected",
      "resumed dropped c2 flushed=1",
      "send resolved",
    ]);
  });
});

describe("withAutomaticReconnect() cooperation", () => {
  it("lets the hub's loop reconnect (buffering meanwhile), then takes over when it gives up; never two loops", async () => {
    const h = setup({ callTimeoutMs: Infinity }, { automaticReconnect: true });
    const { hub, conn, log } = h;
    await started(h);
    conn.onResume((ctx) => { log.push(`onResume ${ctx.reason}`); });
    hub.drop();
    const s1 = track(log, "s1", conn.send("Chat", 1));
    await tick(60_000);
    expect(hub.startCalls).toBe(1); // our loop did not run
    hub.autoReconnected();
    await s1;
    await tick();
    hub.drop();
    hub.autoGiveUp();
    const s2 = track(log, "s2", conn.send("Chat", 2));
    await tick();
    await s2;
    expect(log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped (hub)",
      "reconnected dropped c2 (hub)",
      "onResume dropped",
      "hub.invoke Chat 1",
      "state Connected",
      "resumed dropped c2 flushed=1",
      "s1 resolved",
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped (hub)",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c3",
      "onResume dropped",
      "hub.invoke Chat 2",
      "state Connected",
      "resumed dropped c3 flushed=1",
      "s2 resolved",
    ]);
  });
});
