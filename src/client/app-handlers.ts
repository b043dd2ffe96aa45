// The app's onExit and onResume handlers run the same way: in registration order, each awaited, a
// throwing one reported and the next one run, and the whole run capped by a timer (the handlers
// keep running past the cap; the SDK stops waiting for them).
import type { Timer } from "./timer-set";

/** Runs `handlers` with `ctx` while `goOn()` holds. */
export async function runHandlers<C>(handlers: readonly ((ctx: C) => unknown)[], ctx: C, goOn: () => boolean, onError: (e: unknown) => void): Promise<void> {
  for (const h of handlers) {
    if (!goOn()) return;
    try { await h(ctx); } catch (e) { onError(e); }
  }
}

/** true when `work` finished before timer `t` ran out, false otherwise; the timer is cleared either way. */
export async function within(work: Promise<unknown>, t: Timer): Promise<boolean> {
  const finished = await Promise.race([work.then(() => true), t.fired.then(() => false)]);
  t.clear();
  return finished;
}
