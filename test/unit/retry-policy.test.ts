import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { defaultRetryPolicy } from "../../src/index";
import { OutboundQueue, type QueuedSend } from "../../src/client/outbound-queue";

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

describe("OutboundQueue", () => {
  const item = (seq: number): QueuedSend => ({ kind: "send", seq, method: "m", args: [], resolve() {}, reject() {} });
  it("puts items back in call order, whatever order they come back in", () => {
    fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 }), fc.integer({ min: 0, max: 30 }), (seqs, taken) => {
      const sorted = [...seqs].sort((a, b) => a - b);
      const q = new OutboundQueue(1000);
      for (const s of sorted) q.push(item(s));
      const out = [];
      for (let i = 0; i < Math.min(taken, sorted.length); i++) out.push(q.shift()!);
      for (const o of out.reverse()) q.putBack(o);
      const all = [];
      for (let x = q.shift(); x; x = q.shift()) all.push(x.seq);
      return JSON.stringify(all) === JSON.stringify(sorted);
    }));
  });

  it("refuses the new item when full and rejects everything on rejectAll", () => {
    const q = new OutboundQueue(1);
    expect(q.push(item(1))).toBe(true);
    expect(q.push(item(2))).toBe(false);
    const seen: number[] = [];
    q.rejectAll(new Error("stop"), (i) => seen.push(i.seq));
    expect(seen).toEqual([1]);
    expect(q.length).toBe(0);
  });
});
