import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GracefulConnection } from "../../src/index";
import { FakeHubConnection } from "./fake-hub-connection";
import { setup, started, tick, track } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("throwing listeners and handlers never derail recovery", () => {
  it("a throwing event listener: the other listeners still run, `error` is emitted and logged, recovery completes", async () => {
    const h = setup();
    await started(h);
    h.conn.events.on("state", () => { throw new Error("listener bug"); });
    h.conn.events.on("error", () => { throw new Error("error listener bug too"); }); // no recursion
    h.hub.drop();
    await tick();
    expect(h.conn.state).toBe("Connected");
    // the "*" logging listener was registered first but wildcard listeners run after typed ones
    expect(h.log).toEqual([
      "hub.drop",
      "error listener",
      "state Reconnecting",
      "reconnecting dropped #1 in 0ms",
      "hub.start",
      "reconnected dropped c2",
      "error listener",
      "state Connected",
      "resumed dropped c2 flushed=0",
    ]);
    expect(h.warnings.filter((w) => w.startsWith("SG23 listener "))).toHaveLength(4); // a listener threw
  });

  it("a throwing onExit or onResume handler: logged, `error`, and the next handlers and the flow go on", async () => {
    const h = setup();
    await started(h);
    h.conn.onExit(() => { throw new Error("exit bug"); });
    h.conn.onExit(() => { h.log.push("second onExit"); });
    h.conn.onResume(async () => { throw new Error("resume bug"); });
    const unsubscribe = h.conn.onResume(() => { h.log.push("never: unsubscribed"); });
    unsubscribe();
    h.conn.onResume(() => { h.log.push("second onResume"); });
    h.hub.deliver("exit");
    await tick();
    expect(h.log).toEqual([
      "state Draining",
      "exit -",
      "draining 25000ms",
      "error onExit",
      "second onExit",
      "state Reconnecting",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "error onResume",
      "second onResume",
      "state Connected",
      "resumed exit c2 flushed=0",
    ]);
  });

  it("a throwing hub method handler is reported as `error` (source handler); off() removes only the app's handlers", async () => {
    const h = setup();
    await started(h);
    const handler = vi.fn(() => { throw new Error("handler bug"); });
    h.conn.on("message", handler);
    h.conn.on("exit", () => h.log.push("app exit handler"));
    h.hub.deliver("message", 1);
    h.conn.off("message", handler);
    h.hub.deliver("message", 2);
    h.conn.off("exit"); // must not remove GracefulConnection's own exit handler
    h.hub.deliver("exit");
    await tick();
    expect(handler).toHaveBeenCalledTimes(1);
    expect(h.log.slice(0, 3)).toEqual(["error handler", "state Draining", "exit -"]);
  });

  it("warns when onResume outlives resumeTimeoutMs, then flushes anyway", async () => {
    const h = setup({ resumeTimeoutMs: 1_000 });
    await started(h);
    h.conn.onResume(() => new Promise(() => {}));
    h.hub.drop();
    const s = h.conn.send("Chat", "x");
    await tick(999);
    expect(h.hub.sent).toEqual([]);
    await tick(1);
    await s;
    expect(h.conn.state).toBe("Connected");
    expect(h.warnings).toContain("SG7 1000"); // onResume outlived resumeTimeoutMs
  });
});

describe("options validation", () => {
  const hub = () => new FakeHubConnection();
  it.each([
    [{ drainTimeoutMs: -1 }, RangeError],
    [{ drainTimeoutMs: Number.NaN }, RangeError],
    [{ migrationGraceMs: Infinity }, RangeError],
    [{ resumeTimeoutMs: -5 }, RangeError],
    [{ maxBufferedMessages: 0 }, RangeError],
    [{ maxBufferedMessages: 1.5 }, RangeError],
    [{ drainTimeoutMs: "10" }, TypeError],
    [{ retryableMethods: "SendMessage" }, TypeError],
    [{ retryableMethods: [1] }, TypeError],
    [{ reconnectPolicy: { next: () => 0 } }, TypeError],
    [{ reconnectPolicy: null }, TypeError],
    [{ logger: {} }, TypeError],
    [{ exitMethod: "" }, TypeError],
    [{ random: 0.5 }, TypeError],
    [{ retryInitialStart: "yes" }, TypeError],
  ])("rejects %j", (options, error) => {
    expect(() => new GracefulConnection(hub(), options as never)).toThrow(error);
  });

  it("rejects a non-HubConnection and non-function handlers", () => {
    expect(() => new GracefulConnection({} as never)).toThrow(TypeError);
    const conn = new GracefulConnection(hub());
    expect(() => conn.onExit("x" as never)).toThrow(TypeError);
    expect(() => conn.onResume(undefined as never)).toThrow(TypeError);
    expect(() => conn.on("m", 1 as never)).toThrow(TypeError);
    expect(() => conn.on("", () => {})).toThrow(TypeError);
  });

  it("treats a reconnect policy that throws as 'give up', reported as `error`", async () => {
    const h = setup({ reconnectPolicy: { nextRetryDelayInMilliseconds: () => { throw new Error("policy bug"); } } });
    await started(h);
    h.hub.drop();
    await tick();
    expect(h.log).toEqual(["hub.drop", "state Reconnecting", "error reconnectPolicy", "state Disconnected", "closed retriesExhausted"]);
  });
});

describe("the app acting from inside a listener, mid-transition", () => {
  it("stop() from an `undelivered` listener during a drop: stopped for good, no reconnect behind its back", async () => {
    const h = setup({ maxInterruptions: 0 });
    await started(h, "A");
    void track(h.log, "slow", h.conn.send("Slow"));
    await tick();
    h.conn.events.on("undelivered", () => { void track(h.log, "stop", h.conn.stop()); });
    h.hub.drop();
    await tick(1_000);
    expect(h.log).toEqual([
      "hub.invoke Slow",
      "hub.drop",
      "state Disconnecting",
      "hub.stop",
      "undelivered Slow InvocationInterruptedError",
      "slow rejected InvocationInterruptedError dropped",
      "state Disconnected",
      "closed stop",
      "stop resolved",
    ]);
    expect(h.hub.state).toBe("Disconnected");
    expect(h.warnings.filter((w) => w.startsWith("SG21"))).toEqual([]);
  });

  it("stop() from a `state` listener that stop() itself notifies: the same stop, one `closed`", async () => {
    const h = setup();
    await started(h, "A");
    h.conn.events.on("state", ({ to }) => { if (to === "Disconnecting") void track(h.log, "inner stop", h.conn.stop()); });
    void track(h.log, "outer stop", h.conn.stop());
    await tick();
    expect(h.log).toEqual(["state Disconnecting", "hub.stop", "state Disconnected", "closed stop", "inner stop resolved", "outer stop resolved"]);
    expect(h.warnings).toEqual([]);
  });

  it("send() from an `undelivered` listener while the server's Close ends the run: rejected at once, nothing left buffered", async () => {
    const h = setup();
    await started(h, "A");
    void track(h.log, "slow", h.conn.send("Slow"));
    await tick();
    h.conn.events.on("undelivered", ({ method }) => { if (method === "Slow") void track(h.log, "again", h.conn.send("Again")); });
    h.hub.closeFromServer("bye", false);
    await tick();
    expect(h.log).toEqual([
      "hub.invoke Slow",
      "hub.close noReconnect",
      "undelivered Slow ConnectionStoppedError",
      "state Disconnected",
      "undelivered Again ConnectionStoppedError",
      "closed serverClosed",
      "slow rejected ConnectionStoppedError serverClosed",
      "again rejected ConnectionStoppedError serverClosed",
    ]);
    expect(h.conn.buffered).toBe(0);
  });
});
