// How the app's onExit/onResume handlers run (app-handlers.ts): in order, each awaited, a throwing
// one reported and the next one run, stopped once `goOn()` fails; `within` caps the wait, not the work.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { runHandlers, within } from "../../src/client/app-handlers";
import { TimerSet } from "../../src/client/timer-set";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

it("runs handlers in order, each awaited; reports a throw and goes on; stops when told", async () => {
  const log: string[] = [];
  let go = true;
  const slow = () => new Promise<void>((r) => setTimeout(() => { log.push("slow done"); r(); }, 10));
  const p = runHandlers<string>([
    slow,
    (c) => { log.push(`sync ${c}`); },
    () => { throw new Error("boom"); },
    async () => { log.push("after boom"); go = false; },
    () => { log.push("never"); },
  ], "ctx", () => go, (e) => log.push(`error ${(e as Error).message}`));
  await vi.advanceTimersByTimeAsync(10);
  await p;
  expect(log).toEqual(["slow done", "sync ctx", "error boom", "after boom"]);
});

it("within: true when the work ends first, false when the timer does (the work goes on), timer cleared", async () => {
  const timers = new TimerSet();
  expect(await within(Promise.resolve(), timers.timer(5))).toBe(true);
  expect(vi.getTimerCount()).toBe(0);
  let finished = false;
  const work = new Promise<void>((r) => setTimeout(() => { finished = true; r(); }, 50));
  const capped = within(work, timers.timer(20));
  await vi.advanceTimersByTimeAsync(20);
  expect(await capped).toBe(false);
  expect(finished).toBe(false);
  await vi.advanceTimersByTimeAsync(30);
  expect(finished).toBe(true);
});
