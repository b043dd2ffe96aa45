// The ledger's handover record: a migrated connection's old server writes the marker it still held
// (or none); the new server takes it once, waiting a bounded time for it. Fake timers, whole logs.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeliveryLedger } from "../../src/testing/index";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

const id = { clientId: "c", n: 4, w: 2 };

/** Records when a take settles and with what, against the fake clock. */
function take(ledger: DeliveryLedger, connectionId: string, log: string[]): Promise<void> {
  const started = Date.now();
  return ledger.takeHandover(connectionId).then((got) => void log.push(`${connectionId} after ${Date.now() - started} ms: ${got ? `n=${got.n} w=${got.w}` : "none"}`));
}

describe("DeliveryLedger handover", () => {
  it("a record written before the take is taken at once, marker included", async () => {
    const ledger = new DeliveryLedger();
    const log: string[] = [];
    ledger.handOver("conn", id);
    await take(ledger, "conn", log);
    expect(log).toEqual(["conn after 0 ms: n=4 w=2"]);
    expect(ledger.handoverStats).toEqual({ recorded: 1, carried: 1, timeouts: 0 });
  });

  it("a take waits for a record written later (the old server still reading), then has it at once", async () => {
    const ledger = new DeliveryLedger({ handoverWaitMs: 1_000 });
    const log: string[] = [];
    const p = take(ledger, "conn", log);
    await vi.advanceTimersByTimeAsync(300);
    expect(log).toEqual([]);
    ledger.handOver("conn", id);
    await p;
    expect(log).toEqual(["conn after 300 ms: n=4 w=2"]);
  });

  it("a record is consumed by its first take: a second take finds nothing and gives up after handoverWaitMs", async () => {
    const ledger = new DeliveryLedger({ handoverWaitMs: 500 });
    const log: string[] = [];
    ledger.handOver("conn", id);
    await take(ledger, "conn", log);
    const second = take(ledger, "conn", log);
    await vi.advanceTimersByTimeAsync(499);
    expect(log).toEqual(["conn after 0 ms: n=4 w=2"]);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(log).toEqual(["conn after 0 ms: n=4 w=2", "conn after 500 ms: none"]);
    expect(ledger.handoverStats).toEqual({ recorded: 1, carried: 1, timeouts: 1 });
  });

  it('a "none" record answers at once (no wait), and counts as nothing carried', async () => {
    const ledger = new DeliveryLedger({ handoverWaitMs: 1_000 });
    const log: string[] = [];
    ledger.handOver("conn", undefined);
    await take(ledger, "conn", log);
    expect(log).toEqual(["conn after 0 ms: none"]);
    expect(ledger.handoverStats).toEqual({ recorded: 1, carried: 0, timeouts: 0 });
  });

  it("no record: the take gives up after handoverWaitMs, which defaults to orderWaitMs; other connections' records do not wake it early", async () => {
    const ledger = new DeliveryLedger({ orderWaitMs: 2_000 });
    const log: string[] = [];
    const p = take(ledger, "conn", log);
    await vi.advanceTimersByTimeAsync(1_000);
    ledger.handOver("other", id);
    await vi.advanceTimersByTimeAsync(999);
    expect(log).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await p;
    expect(log).toEqual(["conn after 2000 ms: none"]);
    expect(ledger.handoverStats).toEqual({ recorded: 1, carried: 0, timeouts: 1 });
    await take(ledger, "other", log); // still there for its own connection
    expect(log.at(-1)).toBe("other after 0 ms: n=4 w=2");
  });

  it("a later record for the same connection replaces the earlier one (a second migration)", async () => {
    const ledger = new DeliveryLedger();
    const log: string[] = [];
    ledger.handOver("conn", id);
    ledger.handOver("conn", undefined);
    await take(ledger, "conn", log);
    expect(log).toEqual(["conn after 0 ms: none"]);
  });

  it("records are bounded: expired after handoverTtlMs, and at most maxSenders kept (oldest dropped first)", async () => {
    const ledger = new DeliveryLedger({ handoverWaitMs: 0, handoverTtlMs: 1_000, maxSenders: 2 });
    const log: string[] = [];
    ledger.handOver("old", id);
    await vi.advanceTimersByTimeAsync(1_000);
    await take(ledger, "old", log); // expired
    ledger.handOver("a", id);
    ledger.handOver("b", id);
    ledger.handOver("c", id); // drops "a"
    for (const c of ["a", "b", "c"]) await take(ledger, c, log);
    expect(log).toEqual(["old after 0 ms: none", "a after 0 ms: none", "b after 0 ms: n=4 w=2", "c after 0 ms: n=4 w=2"]);
  });

  it("refuses nonsense bounds", () => {
    expect(() => new DeliveryLedger({ handoverWaitMs: -1 })).toThrow(RangeError);
    expect(() => new DeliveryLedger({ handoverTtlMs: 0 })).toThrow(RangeError);
    expect(() => new DeliveryLedger({ handoverWaitMs: Number.NaN })).toThrow(RangeError);
  });
});
