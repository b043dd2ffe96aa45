// The reconnect loop: attempts by the retry policy until one connects, the policy gives up, or the
// flow's signal is aborted (stop, a newer flow). It knows nothing of states or events: the caller
// says what an attempt, a wait and a failure mean through the hooks.
import { toError } from "./errors";
import { DEV, code } from "./text";
import type { IRetryPolicy } from "@microsoft/signalr";

export interface ReconnectHooks {
  policy: IRetryPolicy;
  /** An attempt is about to wait `delayMs` (0 = at once) and then connect. */
  onAttempt(attempt: number, delayMs: number, error: Error | undefined): void;
  onFailure(attempt: number, error: Error): void;
  /** The policy threw or returned something that is not a delay ≥ 0 or null: counts as giving up. */
  onPolicyError(error: unknown): void;
  /** Waits `ms`; false when the wait was cancelled. */
  wait(ms: number): Promise<boolean>;
  connect(): Promise<void>;
}

/** `connected` after `attempt` attempts, or given up after `retries` failed ones (with the last error). */
export type LoopOutcome = { connected: true; attempt: number } | { connected: false; retries: number; error: Error | undefined };

/** Runs the loop; undefined when `signal` was aborted along the way. */
export async function reconnectLoop(h: ReconnectHooks, signal: AbortSignal, firstError: Error | undefined, why: string): Promise<LoopOutcome | undefined> {
  const startedAt = Date.now();
  let error = firstError;
  for (let retries = 0; ; retries++) {
    const delay = nextDelay(h, retries, Date.now() - startedAt, error ?? new Error(why));
    if (signal.aborted) return undefined;
    if (delay === null) return { connected: false, retries, error };
    h.onAttempt(retries + 1, delay, error);
    if (signal.aborted) return undefined;
    if (delay > 0 && !(await h.wait(delay))) return undefined;
    if (signal.aborted) return undefined;
    try {
      await h.connect();
    } catch (e) {
      if (signal.aborted) return undefined;
      error = toError(e);
      h.onFailure(retries + 1, error);
      continue;
    }
    return signal.aborted ? undefined : { connected: true, attempt: retries + 1 };
  }
}

function nextDelay(h: ReconnectHooks, previousRetryCount: number, elapsedMilliseconds: number, retryReason: Error): number | null {
  let delay: unknown;
  try {
    delay = h.policy.nextRetryDelayInMilliseconds({ previousRetryCount, elapsedMilliseconds, retryReason });
  } catch (e) {
    h.onPolicyError(e);
    return null;
  }
  if (delay === null) return null;
  if (typeof delay !== "number" || !(delay >= 0)) {
    h.onPolicyError(new RangeError(DEV ? `reconnectPolicy returned ${String(delay)}` : code(20, delay)));
    return null;
  }
  return delay;
}
