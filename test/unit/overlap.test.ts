// The `overlap` option: a make-before-break handoff on an exit (WaitForClientsClose).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { GracefulConnection } from "../../src/index";
import { overlap, type OverlapOptions } from "../../src/overlap";
import { FakeHubConnection } from "./fake-hub-connection";
import { setup, started, tick, track, type Harness } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

/** A harness whose overlap.createConnection builds fakes labelled hub2, hub3, … (their start held when asked). */
function overlapSetup(o: { hold?: boolean; startError?: Error; windowMs?: number } = {}): Harness & { created: FakeHubConnection[] } {
  const created: FakeHubConnection[] = [];
  const options: OverlapOptions = {
    createConnection: () => {
      const n = created.length + 2;
      const hub = new FakeHubConnection(h.log, { label: `hub${n}`, firstConnection: n * 10 });
      hub.autoComplete = (m) => m === "Chat";
      if (o.hold) hub.startOutcomes.push("hold");
      if (o.startError) hub.startOutcomes.push(o.startError);
      created.push(hub);
      return hub;
    },
    messageKey: (method, args) => (method === "message" ? String((args[0] as { id: number }).id) : undefined),
    ...(o.windowMs !== undefined ? { windowMs: o.windowMs } : {}),
  };
  const h = setup({ overlap: overlap(options) });
  return Object.assign(h, { created });
}

describe("overlap: make-before-break on an exit", () => {
  it("starts and resumes the new connection before stopping the old one; inbound from both de-duplicated; sends keep their order", async () => {
    const h = overlapSetup({ hold: true });
    const { hub, conn, log, created } = h;
    conn.on("message", (m: { id: number }) => log.push(`app ${m.id}`));
    conn.on("message", (m: { id: number }) => log.push(`app2 ${m.id}`)); // a second handler sees each call once too
    conn.on("typing", (who: string) => log.push(`typing ${who}`)); // no key: never de-duplicated
    await started(h, "A");
    conn.onResume(async (ctx) => {
      log.push(`onResume ${ctx.reason} ${ctx.connectionId} prev=${ctx.previousConnectionId}`);
      await ctx.invoke("Join", "room");
    });

    hub.deliver("exit", { serverId: "A" });
    const s1 = track(log, "send m1", conn.send("Chat", "m1")); // Draining: held for the new connection
    await tick();
    const hub2 = created[0]!;
    const s2 = track(log, "send m2", conn.send("Chat", "m2")); // handoff: buffered
    hub.deliver("message", { id: 1 }); // the old connection still receives
    hub2.releaseStart();
    await tick();
    hub2.deliver("graceful.hello", { serverId: "B" });
    hub.deliver("message", { id: 2 });
    hub2.deliver("message", { id: 2 }); // the copy: dropped
    hub2.deliver("message", { id: 3 });
    hub.deliver("message", { id: 3 }); // the copy: dropped
    hub.deliver("typing", "u1");
    hub2.deliver("typing", "u1"); // unkeyed: both delivered
    hub.deliver("exit", { serverId: "A" }); // a late re-broadcast on the retiring connection: not acted upon
    hub2.complete("Join");
    await tick();
    const s3 = track(log, "send m3", conn.send("Chat", "m3")); // after the switch: straight to the new one
    hub.deliver("message", { id: 4 }); // the old connection is stopped and detached: nothing
    hub2.deliver("message", { id: 3 }); // a late copy within windowMs: dropped
    await tick(10_001);
    hub2.deliver("message", { id: 3 }); // after the window: no more de-duplication
    await Promise.all([s1, s2, s3]);

    expect(log).toEqual([
      "state Draining",
      "exit A",
      "draining 25000ms",
      "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)",
      "hub2.start",
      "app 1",
      "app2 1",
      "reconnected exit c20 (handoff)",
      "onResume exit c20 prev=c1",
      "hub2.invoke Join room",
      "server B",
      "app 2",
      "app2 2",
      "duplicateDropped message 2",
      "app 3",
      "app2 3",
      "duplicateDropped message 3",
      "typing u1",
      "typing u1",
      "hub2.invoke Chat m1",
      "hub2.invoke Chat m2",
      "state Connected",
      "resumed exit c20 flushed=2 (handoff, gap 0ms)",
      "hub.stop", // only now, and its close is not taken as a drop
      "send m1 resolved",
      "send m2 resolved",
      "hub2.invoke Chat m3",
      "duplicateDropped message 3",
      "send m3 resolved",
      "app 3",
      "app2 3",
    ]);
    expect(hub.sent.map((m) => m.args[0])).toEqual([]);
    expect(hub2.sent.map((m) => m.args[0])).toEqual(["m1", "m2", "m3"]);
    expect(conn.state).toBe("Connected");
    expect(conn.connectionId).toBe("c20");
    expect(conn.serverId).toBe("B");
    expect(hub.state).toBe("Disconnected");
  });

  it("uses the new connection object for the next exit and for a drop", async () => {
    const h = overlapSetup();
    const { hub, conn, log, created } = h;
    await started(h, "A");
    hub.deliver("exit", { serverId: "A" });
    await tick();
    created[0]!.deliver("graceful.hello", { serverId: "B" });
    created[0]!.deliver("exit", { serverId: "B" });
    await tick();
    created[1]!.drop();
    await tick();
    expect(log).toEqual([
      "state Draining", "exit A", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)", "hub2.start", "reconnected exit c20 (handoff)",
      "state Connected", "resumed exit c20 flushed=0 (handoff, gap 0ms)", "hub.stop",
      "server B",
      "state Draining", "exit B", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)", "hub3.start", "reconnected exit c30 (handoff)",
      "state Connected", "resumed exit c30 flushed=0 (handoff, gap 0ms)", "hub2.stop",
      "hub3.drop", "state Reconnecting", "reconnecting dropped #1 in 0ms", "hub3.start", "reconnected dropped c31",
      "state Connected", "resumed dropped c31 flushed=0",
    ]);
    expect(hub.startCalls).toBe(1);
  });

  it("falls back to today's path when the new connection does not start: stop the old one, reconnect it by the policy", async () => {
    const h = overlapSetup({ startError: new Error("negotiate failed") });
    const { hub, conn, log, created } = h;
    conn.on("message", (m: { id: number }) => log.push(`app ${m.id}`));
    await started(h, "A");
    hub.deliver("exit", { serverId: "A" });
    await tick();
    created[0]!.deliver("message", { id: 9 }); // the failed connection is detached
    hub.deliver("message", { id: 10 });
    hub.deliver("message", { id: 10 }); // no overlap any more: no de-duplication
    expect(log).toEqual([
      "state Draining", "exit A", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)",
      "hub2.start",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "state Connected",
      "resumed exit c2 flushed=0",
      "app 10",
      "app 10",
    ]);
    expect(h.warnings.some((w) => w.includes("negotiate failed"))).toBe(true);
  });

  it("falls back when createConnection throws or returns something that is not a HubConnection", async () => {
    const log: string[] = [];
    const hub = new FakeHubConnection(log);
    const conn = new GracefulConnection(hub, {
      logger: { log: () => {} },
      overlap: overlap({ createConnection: () => ({}) as never, messageKey: () => undefined }),
    });
    conn.events.on("resumed", (e) => log.push(`resumed ${e.reason} ${e.connectionId}${e.handoff ? " handoff" : ""}`));
    const p = conn.start();
    await tick();
    await p;
    hub.deliver("exit");
    await tick();
    expect(log).toEqual(["hub.start", "resumed start c1", "hub.stop", "hub.start", "resumed exit c2"]);
  });

  it("stop() while the new connection is starting stops both and rejects what is buffered", async () => {
    const h = overlapSetup({ hold: true });
    const { hub, conn, log, created } = h;
    await started(h, "A");
    hub.deliver("exit");
    await tick();
    const s = track(log, "send", conn.send("Chat", "m"));
    await conn.stop();
    await s;
    await tick();
    expect(log).toEqual([
      "state Draining", "exit -", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)", "hub2.start",
      "state Disconnecting", "undelivered Chat ConnectionStoppedError",
      "hub.stop", "hub2.stop",
      "send rejected ConnectionStoppedError stop",
      "state Disconnected", "closed stop",
    ]);
    expect([hub.state, created[0]!.state]).toEqual(["Disconnected", "Disconnected"]);
    // A later start() uses the original connection again (the handoff never switched).
    const again = conn.start();
    await tick();
    await again;
    expect(conn.connectionId).toBe("c2");
  });

  it("stop() while onResume runs on the new connection stops both; the old one's close is not a drop", async () => {
    const h = overlapSetup();
    const { hub, conn, log, created } = h;
    await started(h, "A");
    let resuming!: () => void;
    const join = new Promise<void>((r) => (resuming = r));
    conn.onResume((ctx) => { resuming(); return ctx.invoke("Join"); });
    hub.deliver("exit");
    await join;
    await tick();
    await conn.stop();
    await tick();
    expect(log).toEqual([
      "state Draining", "exit -", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)", "hub2.start", "reconnected exit c20 (handoff)",
      "hub2.invoke Join",
      "state Disconnecting",
      "hub2.stop", "hub.stop",
      "error onResume", // its ctx.invoke was cut off by the stop
      "state Disconnected", "closed stop",
    ]);
    expect([hub.state, created[0]!.state]).toEqual(["Disconnected", "Disconnected"]);
  });

  it("ignores a close of the old connection during the handoff, and the old connection's late messages after it", async () => {
    const h = overlapSetup({ hold: true });
    const { hub, conn, log, created } = h;
    conn.on("message", (m: { id: number }) => log.push(`app ${m.id}`));
    await started(h, "A");
    hub.deliver("exit");
    await tick();
    hub.deliver("message", { id: 1 });
    hub.drop(); // the old server went away before the new connection is up: nothing to do
    created[0]!.releaseStart();
    await tick();
    created[0]!.deliver("message", { id: 1 }); // the copy, on the new connection
    expect(log).toEqual([
      "state Draining", "exit -", "draining 25000ms", "state Reconnecting",
      "reconnecting exit #1 in 0ms (handoff)", "hub2.start",
      "app 1",
      "hub.drop",
      "reconnected exit c20 (handoff)",
      "state Connected", "resumed exit c20 flushed=0 (handoff, gap 0ms)",
      "hub.stop",
      "duplicateDropped message 1",
    ]);
    expect(conn.state).toBe("Connected");
  });

  it("reports a throwing messageKey and delivers the call", async () => {
    const log: string[] = [];
    const hub = new FakeHubConnection(log);
    const hub2 = new FakeHubConnection(log, { label: "hub2", firstConnection: 20 });
    hub2.startOutcomes.push("hold");
    const conn = new GracefulConnection(hub, {
      logger: { log: () => {} },
      overlap: overlap({ createConnection: () => hub2, messageKey: () => { throw new Error("bad key"); } }),
    });
    conn.on("message", (x: number) => log.push(`app ${x}`));
    conn.events.on("error", (e) => log.push(`error ${e.source}`));
    const p = conn.start();
    await tick();
    await p;
    hub.deliver("exit");
    await tick();
    hub.deliver("message", 1);
    hub2.releaseStart();
    await tick();
    expect(log).toEqual(["hub.start", "hub2.start", "error messageKey", "app 1", "hub.stop"]);
  });

  it("validates the option up front", () => {
    const hub = () => new FakeHubConnection();
    const ok = { createConnection: hub, messageKey: () => undefined };
    expect(() => overlap(null as never)).toThrow(TypeError);
    expect(() => overlap({ messageKey: ok.messageKey } as never)).toThrow(/createConnection/);
    expect(() => overlap({ createConnection: hub } as never)).toThrow(/messageKey/);
    expect(() => overlap({ ...ok, windowMs: "10" as never })).toThrow(TypeError);
    expect(() => overlap({ ...ok, windowMs: -1 })).toThrow(RangeError);
    expect(() => overlap({ ...ok, windowMs: NaN })).toThrow(RangeError);
    expect(() => overlap({ ...ok, maxKeys: 0 })).toThrow(RangeError);
    expect(() => overlap({ ...ok, maxKeys: 1.5 })).toThrow(RangeError);
    // The option takes only what overlap() returns; the plain object says where overlap() lives.
    expect(() => new GracefulConnection(hub(), { overlap: null as never })).toThrow(TypeError);
    expect(() => new GracefulConnection(hub(), { overlap: "yes" as never })).toThrow(TypeError);
    expect(() => new GracefulConnection(hub(), { overlap: ok as never })).toThrow(/signalr-graceful\/overlap|^SGE17$/); // the text, or its code in the minified build (npm run test:min)
    expect(() => new GracefulConnection(hub(), { overlap: overlap(ok) })).not.toThrow();
    expect(() => new GracefulConnection(hub(), { overlap: overlap({ ...ok, windowMs: 0, maxKeys: 1 }) })).not.toThrow();
  });

  it("keeps at most maxKeys keys", async () => {
    const log: string[] = [];
    const hub = new FakeHubConnection(log);
    const hub2 = new FakeHubConnection(log, { label: "hub2", firstConnection: 20 });
    hub2.startOutcomes.push("hold");
    const conn = new GracefulConnection(hub, {
      logger: { log: () => {} },
      overlap: overlap({ createConnection: () => hub2, messageKey: (_m, a) => String(a[0]), maxKeys: 2 }),
    });
    conn.on("message", (x: number) => log.push(`app ${x}`));
    conn.events.on("duplicateDropped", (e) => log.push(`dup ${e.key}`));
    const p = conn.start();
    await tick();
    await p;
    hub.deliver("exit");
    await tick();
    log.length = 0;
    for (const x of [1, 2, 3]) hub.deliver("message", x);
    for (const x of [3, 2, 1]) hub.deliver("message", x); // 1 was evicted: delivered again (and evicts 2)
    expect(log).toEqual(["app 1", "app 2", "app 3", "dup 3", "dup 2", "app 1"]);
  });
});
