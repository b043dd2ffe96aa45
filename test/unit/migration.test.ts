import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { setup, started, tick, track } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("migration (MigrateClients)", () => {
  it("re-sends retryable in-flight invokes (first completion wins), rejects the others after the grace, holds app messages while onResume runs", async () => {
    const h = setup({ retryableMethods: ["echo"], migrationGraceMs: 2_000 });
    const { hub, conn, log } = h;
    await started(h, "A");
    let release!: () => void;
    conn.onResume(async (ctx) => {
      log.push(`onResume ${ctx.reason} ${ctx.connectionId} prev=${ctx.previousConnectionId} server=${ctx.serverId}`);
      await new Promise<void>((r) => (release = r));
    });
    const echo = track(log, "Echo", conn.invoke("Echo", 1));
    const plain = track(log, "Plain", conn.invoke("Plain"));
    const lucky = track(log, "Lucky", conn.invoke("Lucky"));

    hub.deliver("graceful.hello", { serverId: "B", migratedFrom: "A" });
    const held = track(log, "held", conn.send("Chat", "during"));
    await tick();
    hub.complete("Echo", "new", true); // the re-sent one answers first
    hub.complete("Lucky", "ok"); // its completion did arrive, within the grace
    release();
    await tick();
    hub.complete("Echo", "old"); // a late answer to the first attempt is ignored
    await tick(1_999);
    expect(log).not.toContain("Plain rejected InvocationInterruptedError migrated");
    await tick(1);
    await Promise.all([echo, plain, lucky, held]);
    expect(log).toEqual([
      "hub.invoke Echo 1",
      "hub.invoke Plain",
      "hub.invoke Lucky",
      "server B",
      "migrated A->B c1",
      "hub.invoke Echo 1",
      "retry Echo migrated #2",
      "onResume migrated c1 prev=c1 server=B",
      "Echo resolved new",
      "Lucky resolved ok",
      "hub.invoke Chat during",
      "resumed migrated c1 flushed=1",
      "held resolved",
      "Plain rejected InvocationInterruptedError migrated",
    ]);
    expect(conn.state).toBe("Connected"); // no state change at all during a migration
    expect(conn.serverId).toBe("B");
    expect(hub.startCalls).toBe(1);
  });

  it("treats a malformed hello as nothing (logged), and learns the server from a good one", async () => {
    const h = setup();
    await started(h);
    h.hub.deliver("graceful.hello", { serverId: 42 });
    h.hub.deliver("graceful.hello");
    h.hub.deliver("graceful.hello", { serverId: "A", migratedFrom: 7 });
    h.hub.deliver("graceful.hello", { serverId: "A" }); // same server again: no event
    await tick();
    expect(h.log).toEqual(["server A"]);
    expect(h.warnings.filter((w) => w.startsWith("SG14 "))).toHaveLength(2); // malformed hello
  });
});
