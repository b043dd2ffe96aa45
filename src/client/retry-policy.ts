// The default reconnect policy: first retry at once, then full-jitter exponential backoff, never gives up.
import type { IRetryPolicy, RetryContext } from "@microsoft/signalr";
import { DEV, code } from "./text";

export interface RetryPolicyOptions {
  /** Delay scale: attempt n (n ≥ 1) waits random(0, min(maxDelayMs, baseDelayMs · 2ⁿ)). Default 500. */
  baseDelayMs?: number;
  /** Cap on one delay. Default 30 000. */
  maxDelayMs?: number;
  /** Floor on every delay after the first (jitter can otherwise pick ~0 repeatedly). Default 100. */
  minDelayMs?: number;
  /** Source of randomness in [0, 1). Default Math.random. */
  random?: () => number;
}

export function defaultRetryPolicy(options: RetryPolicyOptions = {}): IRetryPolicy {
  const { baseDelayMs = 500, maxDelayMs = 30_000, minDelayMs = 100, random = Math.random } = options;
  for (const [k, v] of Object.entries({ baseDelayMs, maxDelayMs, minDelayMs })) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new RangeError(DEV ? `defaultRetryPolicy: ${k} must be a finite number ≥ 0.` : code(19, k, v));
  }
  if (typeof random !== "function") throw new TypeError(DEV ? "defaultRetryPolicy: random must be a function." : code(19, "random"));
  return {
    nextRetryDelayInMilliseconds({ previousRetryCount: n }: RetryContext): number {
      if (n === 0) return 0;
      const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** n);
      return Math.min(maxDelayMs, Math.max(minDelayMs, Math.floor(random() * cap)));
    },
  };
}
