// onResume handlers on their own: in order, a throwing one reported, capped, stopped when the
// connection they were for is gone.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runResumeHandlers, type ResumeContext } from "../../src/client/resume";
import { TimerSet } from "../../src/client/timer-set";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

const timers = new TimerSet();
const ctx = { reason: "dropped" } as ResumeContext;

describe("runResumeHandlers", () => {
  it("runs them in order, reports a throwing one and goes on", async () => {
    const log: string[] = [];
    const ok = await runResumeHandlers([async () => { log.push("a"); }, () => { throw new Error("b"); }, (c) => { log.push(`c ${c.reason}`); }], ctx, 1_000, (ms) => timers.timer(ms), () => true, (e) => log.push(`error ${(e as Error).message}`));
    expect(ok).toBe(true);
    expect(log).toEqual(["a", "error b", "c dropped"]);
  });

  it("gives up waiting at the cap (the handler keeps running), and calls no more once the connection is gone", async () => {
    const log: string[] = [];
    let alive = true;
    const p = runResumeHandlers([() => new Promise((r) => setTimeout(r, 5_000)), () => { log.push("second"); }], ctx, 1_000, (ms) => timers.timer(ms), () => alive, () => {});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBe(false);
    alive = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(log).toEqual([]);
  });
});
