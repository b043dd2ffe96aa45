import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InvocationInterruptedError } from "../../src/index";
import { setup, started, tick, track } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("exit (WaitForClientsClose)", () => {
  it("drains: onExit finishes and in-flight invokes complete on the old connection before it is stopped, then resumes and flushes", async () => {
    const h = setup();
    const { hub, conn, log } = h;
    conn.onExit(async (ctx) => {
      log.push(`onExit begin budget=${ctx.budgetMs}`);
      await track(log, "SaveDraft", conn.invoke("SaveDraft", "draft"));
      log.push("onExit end");
    });
    await started(h, "A");
    conn.onResume(async (ctx) => {
      log.push(`onResume ${ctx.reason} ${ctx.connectionId} prev=${ctx.previousConnectionId}`);
      await ctx.invoke("JoinRoom", "r1");
    });
    const echo = track(log, "Echo", conn.invoke("Echo", 1));

    hub.deliver("exit", { serverId: "A", timeoutMs: 10_000 });
    await tick();
    hub.complete("SaveDraft", "ok");
    await tick();
    expect(hub.startCalls).toBe(1); // still draining: Echo is in flight on the old connection
    const sentDuringGap = [track(log, "send1", conn.send("Chat", "m1"))];
    hub.complete("Echo", 2);
    await tick();
    // the old connection is stopped, the new one started; messages made now are buffered
    sentDuringGap.push(track(log, "send2", conn.send("Chat", "m2")));
    await tick();
    hub.complete("JoinRoom");
    await tick();
    hub.deliver("graceful.hello", { serverId: "B" });
    await Promise.all([echo, ...sentDuringGap]);

    expect(log).toEqual([
      "hub.invoke Echo 1",
      "state Draining",
      "exit A 10000ms",
      "draining 9500ms",
      "onExit begin budget=9500",
      "hub.invoke SaveDraft draft",
      "SaveDraft resolved ok",
      "onExit end",
      "Echo resolved 2",
      "state Reconnecting",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "onResume exit c2 prev=c1",
      "hub.invoke JoinRoom r1",
      "hub.invoke Chat m1", // made while Draining: held for the new connection
      "hub.invoke Chat m2",
      "state Connected",
      "resumed exit c2 flushed=2",
      "send1 resolved",
      "send2 resolved", // its receipt: the hub ran it
      "server B",
    ]);
    expect(conn.state).toBe("Connected");
    expect(conn.serverId).toBe("B");
  });

  it("holds sends made while Draining for the next connection; onExit's invokes still go to the old one, awaited before it stops", async () => {
    // The real Azure server SDK stops its server links once its last client is gone (WaitForClientsClose)
    // while a send's hub call may still run there: its broadcast would fail. So no send goes to a leaving server.
    const h = setup();
    const { hub, conn, log } = h;
    hub.autoComplete = (m) => m === "Chat" || m === "Save";
    conn.onExit(async () => {
      log.push("onExit begin");
      const s = track(log, "send during onExit", conn.send("Chat", "from-onExit"));
      await track(log, "Save", conn.invoke("Save", "draft")); // not queued behind the held send
      log.push("onExit end");
      await s; // settles on the new connection, after the drain: awaiting it here only ends the drain by budget
    });
    await started(h, "A");
    hub.deliver("exit", { serverId: "A", timeoutMs: 2_000 });
    const s1 = track(log, "send1", conn.send("Chat", "m1"));
    await tick(1_800); // the drain budget (1800 ms) runs out while onExit awaits its held send
    await tick();
    hub.deliver("graceful.hello", { serverId: "B" });
    await s1;
    expect(log).toEqual([
      "state Draining",
      "exit A 2000ms",
      "draining 1800ms",
      "onExit begin",
      "hub.invoke Save draft",
      "Save resolved",
      "onExit end",
      "state Reconnecting",
      "hub.stop", // nothing sent to the old server but onExit's invoke
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "hub.invoke Chat from-onExit",
      "hub.invoke Chat m1",
      "state Connected",
      "resumed exit c2 flushed=2",
      "send during onExit resolved",
      "send1 resolved",
      "server B",
    ]);
    expect(h.warnings).toContain("SG13 1800"); // the drain budget ran out
  });

  it("ignores an exit for another server, and a late one from a server it already left", async () => {
    const h = setup();
    await started(h, "A");
    h.hub.deliver("exit", { serverId: "B" });
    await tick();
    h.hub.deliver("exit", { serverId: "A" });
    await tick(); // → reconnect; serverId is unknown until the new hello
    h.hub.deliver("exit", { serverId: "A" }); // re-broadcast from A, arriving before the hello
    h.hub.deliver("graceful.hello", { serverId: "C" });
    h.hub.deliver("exit", { serverId: "A" });
    await tick();
    expect(h.log).toEqual([
      "exitIgnored otherServer B",
      "state Draining",
      "exit A",
      "draining 25000ms",
      "state Reconnecting",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "state Connected",
      "resumed exit c2 flushed=0",
      "exitIgnored alreadyLeft A",
      "server C",
      "exitIgnored otherServer A",
    ]);
    expect(h.conn.state).toBe("Connected");
  });

  it("caps the drain by the payload's timeoutMs (minus a margin) and interrupts what is still in flight", async () => {
    const h = setup({ drainTimeoutMs: 25_000, retryableMethods: ["Retryable"] });
    const { hub, conn, log } = h;
    let aborted = false;
    conn.onExit(async (ctx) => {
      ctx.signal.addEventListener("abort", () => (aborted = true));
      await new Promise(() => {}); // never finishes
    });
    await started(h);
    const slow = track(log, "Slow", conn.invoke("Slow"));
    const retryable = track(log, "Retryable", conn.invoke("Retryable", 7));
    hub.deliver("exit", { timeoutMs: 3_000 }); // no serverId: it is for us
    await tick(2_699);
    expect(conn.state).toBe("Draining");
    await tick(1);
    expect(aborted).toBe(true);
    hub.complete("Retryable", "late"); // the re-sent one, on the new connection
    await Promise.all([slow, retryable]);
    expect(log).toEqual([
      "hub.invoke Slow",
      "hub.invoke Retryable 7",
      "state Draining",
      "exit - 3000ms",
      "draining 2700ms",
      "state Reconnecting",
      "hub.stop",
      "Slow rejected InvocationInterruptedError exit",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "hub.invoke Retryable 7",
      "retry Retryable exit #2",
      "state Connected",
      "resumed exit c2 flushed=1",
      "Retryable resolved late",
    ]);
    expect(await slow).toBeInstanceOf(InvocationInterruptedError);
    expect(await slow).toMatchObject({ retryable: true, reason: "exit", method: "Slow" });
    expect(h.warnings).toContain("SG13 2700");
  });

  it("ignores a second exit while draining, and treats malformed exit payloads as 'no details'", async () => {
    const h = setup();
    let release!: () => void;
    h.conn.onExit(() => new Promise<void>((r) => (release = r)));
    await started(h, "A");
    h.hub.deliver("exit", "garbage");
    await tick();
    h.hub.deliver("exit", { serverId: "A" });
    h.hub.deliver("exit", [1, 2]);
    release();
    await tick();
    expect(h.log).toEqual([
      "state Draining",
      "exit -",
      "draining 25000ms",
      "exitIgnored alreadyDraining A",
      "exitIgnored alreadyDraining -",
      "state Reconnecting",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "state Connected",
      "resumed exit c2 flushed=0",
    ]);
    expect(h.warnings.filter((w) => w.startsWith("SG9 "))).toHaveLength(2); // malformed exit payload
  });

  it("defers an exit that arrives while a resume runs, and acts on it once resumed", async () => {
    const h = setup();
    let release!: () => void;
    h.conn.onResume((ctx) => (ctx.reason === "start" ? new Promise<void>((r) => (release = r)) : undefined));
    const p = h.conn.start();
    await tick();
    h.hub.deliver("exit");
    release();
    await p;
    await tick();
    expect(h.log).toEqual([
      "state Connecting",
      "hub.start",
      "state Connected",
      "resumed start c1 flushed=0",
      "state Draining",
      "exit -",
      "draining 25000ms",
      "state Reconnecting",
      "hub.stop",
      "reconnecting exit #1 in 0ms",
      "hub.start",
      "reconnected exit c2",
      "state Connected",
      "resumed exit c2 flushed=0",
    ]);
  });
});
