// The drain on its own: handlers in order, then in-flight calls, within the budget; its signal.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { drain, drainBudget, type DrainParts } from "../../src/client/drain";
import { TimerSet } from "../../src/client/timer-set";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

const timers = new TimerSet();
function parts(log: string[], o: Partial<DrainParts> = {}): DrainParts {
  return {
    handlers: [],
    payload: { serverId: "A" },
    budgetMs: 1_000,
    whenIdle: async () => { log.push("idle"); },
    timer: (ms) => timers.timer(ms),
    onHandlerError: (e) => log.push(`handler error ${(e as Error).message}`),
    ...o,
  };
}

describe("drain", () => {
  it("runs handlers in order (a throwing one reported), then waits for in-flight calls", async () => {
    const log: string[] = [];
    const handlers = [
      async (ctx: { budgetMs: number; serverId?: string }) => { log.push(`h1 ${ctx.serverId} ${ctx.budgetMs}`); },
      () => { throw new Error("boom"); },
      () => { log.push("h3"); },
    ];
    expect(await drain(parts(log, { handlers }), new AbortController().signal)).toBe(true);
    expect(log).toEqual(["h1 A 1000", "handler error boom", "h3", "idle"]);
  });

  it("gives up at the budget and aborts the handlers' signal; ends at once when its flow is aborted", async () => {
    const log: string[] = [];
    let signal!: AbortSignal;
    const p = drain(parts(log, { handlers: [(ctx) => { signal = ctx.signal; return new Promise(() => {}); }] }), new AbortController().signal);
    await vi.advanceTimersByTimeAsync(999);
    expect(signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await p).toBe(false);
    expect(signal.aborted).toBe(true);

    const flow = new AbortController();
    const q = drain(parts(log, { handlers: [(ctx) => { signal = ctx.signal; return new Promise(() => {}); }] }), flow.signal);
    await vi.advanceTimersByTimeAsync(10);
    flow.abort();
    expect(signal.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await q).toBeUndefined();
  });

  it("takes the exit's timeoutMs, less a margin, as the budget when it is lower", () => {
    expect(drainBudget(25_000, undefined)).toBe(25_000);
    expect(drainBudget(25_000, 10_000)).toBe(9_500);
    expect(drainBudget(25_000, 3_000)).toBe(2_700);
    expect(drainBudget(1_000, 10_000)).toBe(1_000);
    expect(drainBudget(25_000, 0)).toBe(0);
  });
});
