import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { defaultRetryPolicy } from "../../src/index";

const ctx = (n: number) => ({ previousRetryCount: n, elapsedMilliseconds: 0, retryReason: new Error("x") });

describe("defaultRetryPolicy", () => {
  it("retries at once first, then full jitter with a floor, up to 30 s, never gives up", () => {
    const p = defaultRetryPolicy({ random: () => 0.999999 });
    expect([0, 1, 2, 3, 6, 100, 5000].map((n) => p.nextRetryDelayInMilliseconds(ctx(n)))).toEqual([0, 999, 1999, 3999, 29999, 29999, 29999]);
    expect(defaultRetryPolicy({ random: () => 0 }).nextRetryDelayInMilliseconds(ctx(4))).toBe(100);
  });

  it("stays within [100, min(30 000, 500·2ⁿ)] for any random()", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
      const d = defaultRetryPolicy({ random: () => r }).nextRetryDelayInMilliseconds(ctx(n))!;
      return d >= 100 && d <= Math.max(100, Math.min(30_000, 500 * 2 ** n));
    }));
  });

  it("validates its own options", () => {
    expect(() => defaultRetryPolicy({ maxDelayMs: -1 })).toThrow(RangeError);
  });
});
