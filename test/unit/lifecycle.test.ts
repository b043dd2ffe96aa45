import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConnectionStoppedError, InvalidStateError } from "../../src/index";
import { setup, started, tick, track } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("start()", () => {
  it("resumes on the first start too (reason 'start') and resolves once Connected", async () => {
    const h = setup();
    h.conn.onResume((ctx) => { h.log.push(`onResume ${ctx.reason} ${ctx.connectionId}`); });
    const s = track(h.log, "start", h.conn.start());
    const early = track(h.log, "early", h.conn.send("Chat", "early")); // buffered while Connecting
    await tick();
    await Promise.all([s, early]);
    expect(h.log).toEqual([
      "state Connecting",
      "hub.start",
      "onResume start c1",
      "hub.invoke Chat early",
      "state Connected",
      "resumed start c1 flushed=1",
      "start resolved",
      "early resolved",
    ]);
  });

  it("rejects start() when the first start fails (no silent retry), and what was buffered", async () => {
    const h = setup();
    h.hub.startOutcomes.push(new Error("negotiate 500"));
    const s = track(h.log, "start", h.conn.start());
    const early = track(h.log, "early", h.conn.send("Chat", "early"));
    await tick();
    await Promise.all([s, early]);
    expect(h.log).toEqual([
      "state Connecting",
      "hub.start",
      "undelivered Chat ConnectionStoppedError",
      "state Disconnected",
      "closed startFailed",
      "early rejected ConnectionStoppedError startFailed",
      "start rejected Error",
    ]);
    expect(h.hub.startCalls).toBe(1);
  });

  it("retries a failed first start by the policy with retryInitialStart", async () => {
    const h = setup({ retryInitialStart: true });
    h.hub.startOutcomes.push(new Error("down"), new Error("down"));
    const s = track(h.log, "start", h.conn.start());
    await tick(500);
    await s;
    expect(h.log).toEqual([
      "state Connecting",
      "hub.start",
      "reconnecting start #1 in 0ms",
      "hub.start",
      "reconnecting start #2 in 500ms",
      "hub.start",
      "reconnected start c1",
      "state Connected",
      "resumed start c1 flushed=0",
      "start resolved",
    ]);
  });

  it("refuses start() twice, and send()/invoke() before start()", async () => {
    const h = setup();
    await expect(h.conn.send("Chat")).rejects.toBeInstanceOf(InvalidStateError);
    await expect(h.conn.invoke("Echo")).rejects.toBeInstanceOf(InvalidStateError);
    const first = h.conn.start();
    await expect(h.conn.start()).rejects.toMatchObject({ name: "InvalidStateError", state: "Connecting" });
    await tick();
    await first;
    await expect(h.conn.start()).rejects.toMatchObject({ name: "InvalidStateError", state: "Connected" });
    expect(h.hub.startCalls).toBe(1);
  });
});

describe("stop()", () => {
  it("from Connected: rejects in-flight invokes, closes; later calls fail at once with ConnectionStoppedError", async () => {
    const h = setup();
    await started(h);
    const inflight = track(h.log, "Echo", h.conn.invoke("Echo"));
    await h.conn.stop();
    await inflight;
    await expect(h.conn.send("Chat")).rejects.toMatchObject({ name: "ConnectionStoppedError", reason: "stop" });
    await expect(h.conn.invoke("Echo")).rejects.toBeInstanceOf(ConnectionStoppedError);
    expect(h.log).toEqual([
      "hub.invoke Echo",
      "state Disconnecting",
      "hub.stop",
      "Echo rejected ConnectionStoppedError stop",
      "state Disconnected",
      "closed stop",
    ]);
    await h.conn.stop(); // idempotent
    expect(h.log.filter((l) => l === "closed stop")).toHaveLength(1);
  });

  it("during Connecting: start() rejects, buffered messages rejected", async () => {
    const h = setup();
    h.hub.startOutcomes.push("hold");
    const s = track(h.log, "start", h.conn.start());
    const early = track(h.log, "early", h.conn.send("Chat"));
    await tick();
    await h.conn.stop();
    await Promise.all([s, early]);
    expect(h.log).toEqual([
      "state Connecting",
      "hub.start",
      "state Disconnecting",
      "undelivered Chat ConnectionStoppedError",
      "hub.stop",
      "early rejected ConnectionStoppedError stop",
      "start rejected ConnectionStoppedError stop",
      "state Disconnected",
      "closed stop",
    ]);
  });

  it("during Draining mid-onExit: aborts the exit signal, never reconnects", async () => {
    const h = setup();
    let signal!: AbortSignal;
    h.conn.onExit((ctx) => { signal = ctx.signal; return new Promise(() => {}); });
    await started(h);
    h.hub.deliver("exit");
    await tick();
    await h.conn.stop();
    await tick(60_000);
    expect(signal.aborted).toBe(true);
    expect(h.log).toEqual([
      "state Draining",
      "exit -",
      "draining 25000ms",
      "state Disconnecting",
      "hub.stop",
      "state Disconnected",
      "closed stop",
    ]);
    expect(h.hub.startCalls).toBe(1);
  });

  it("during Reconnecting mid-backoff: cancels the timer, rejects the buffer", async () => {
    const h = setup();
    await started(h);
    h.hub.startOutcomes.push(new Error("down"));
    h.hub.drop();
    await tick(); // attempt 1 failed; attempt 2 waits 500 ms
    const s = track(h.log, "send", h.conn.send("Chat"));
    await h.conn.stop();
    await s;
    await tick(60_000);
    expect(h.log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnecting dropped #2 in 500ms",
      "state Disconnecting",
      "undelivered Chat ConnectionStoppedError",
      "hub.stop",
      "send rejected ConnectionStoppedError stop",
      "state Disconnected",
      "closed stop",
    ]);
    expect(h.hub.startCalls).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("while resuming (onResume pending): the resume is abandoned, nothing flushed", async () => {
    const h = setup();
    await started(h);
    h.conn.onResume(() => new Promise(() => {}));
    h.hub.drop();
    const s = track(h.log, "send", h.conn.send("Chat"));
    await tick();
    await h.conn.stop();
    await s;
    await tick(60_000);
    expect(h.log).toEqual([
      "hub.drop",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c2",
      "state Disconnecting",
      "undelivered Chat ConnectionStoppedError",
      "hub.stop",
      "send rejected ConnectionStoppedError stop",
      "state Disconnected",
      "closed stop",
    ]);
    expect(h.hub.sent).toEqual([]);
  });

  it("can start again after stop()", async () => {
    const h = setup();
    await started(h);
    await h.conn.stop();
    await started(h);
    expect(h.conn.state).toBe("Connected");
    expect(h.conn.connectionId).toBe("c2");
  });
});
