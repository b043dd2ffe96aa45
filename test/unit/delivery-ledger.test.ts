// The kit's server side of delivery ids: at most once per (clientId, n), in order across servers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeliveryLedger, parseDeliveryId } from "../../src/testing/index";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe("DeliveryLedger", () => {
  it("runs a delivery once; a copy (even while the first still runs, e.g. on the old server) is skipped after it finished", async () => {
    const ledger = new DeliveryLedger();
    const log: string[] = [];
    let finish!: () => void;
    const first = ledger.run({ clientId: "c", n: 1, w: 0 }, () => new Promise<void>((r) => (finish = () => { log.push("ran 1"); r(); })));
    const copy = ledger.run({ clientId: "c", n: 1, w: 0 }, () => log.push("ran 1 again"));
    await vi.advanceTimersByTimeAsync(100);
    expect(log).toEqual([]); // the copy waits for the running original
    finish();
    expect(await first).toEqual({ duplicate: false, result: undefined });
    expect(await copy).toEqual({ duplicate: true });
    expect(await ledger.run({ clientId: "c", n: 1, w: 0 }, () => log.push("late copy"))).toEqual({ duplicate: true });
    expect(log).toEqual(["ran 1"]);
    expect(ledger.stats).toEqual({ ran: 1, duplicates: 2, orderTimeouts: 0 });
  });

  it("holds a delivery until every number between the watermark and it is done (a backlog elsewhere), bounded by orderWaitMs", async () => {
    const ledger = new DeliveryLedger({ orderWaitMs: 1_000 });
    const log: string[] = [];
    const three = ledger.run({ clientId: "c", n: 3, w: 0 }, () => log.push("3"));
    await vi.advanceTimersByTimeAsync(10);
    await ledger.run({ clientId: "c", n: 1, w: 0 }, () => log.push("1"));
    await vi.advanceTimersByTimeAsync(10);
    expect(log).toEqual(["1"]); // 2 is not done yet
    await ledger.run({ clientId: "c", n: 2, w: 1 }, () => log.push("2"));
    await three;
    expect(log).toEqual(["1", "2", "3"]);
    // a gap that never fills (the client gave up on 4): 5 runs after orderWaitMs
    const five = ledger.run({ clientId: "c", n: 5, w: 3 }, () => log.push("5"));
    await vi.advanceTimersByTimeAsync(999);
    expect(log).toEqual(["1", "2", "3"]);
    await vi.advanceTimersByTimeAsync(1);
    await five;
    expect(log).toEqual(["1", "2", "3", "5"]);
    expect(ledger.stats.orderTimeouts).toBe(1);
  });

  it("refuses malformed markers", () => {
    expect(parseDeliveryId(["c", 2, 1])).toEqual({ clientId: "c", n: 2, w: 1 });
    for (const bad of [[], ["c", 0, 0], ["c", 2, 2], ["c", 1.5, 0], ["x".repeat(129), 1, 0], [7, 1, 0], ["c", "1", 0], ["5:alice/c", 1, 0], ["a b", 1, 0]]) expect(parseDeliveryId(bad)).toBeUndefined();
  });

  it("keeps an authenticated user's senders apart from everyone else's, whatever client id a marker names", async () => {
    // The marker's client id is the client's word: scoped to its user, no pair reads as another.
    expect(parseDeliveryId(["c1", 2, 1], "alice")).toEqual({ clientId: "5:alice/c1", n: 2, w: 1 });
    const keys = [["c", "a/b"], ["b-c", "a"], ["c", undefined], ["c", ""], ["c", "a"]].map(([c, u]) => parseDeliveryId([c, 1, 0], u)!.clientId);
    expect(new Set(keys).size).toBe(keys.length);

    // Mallory names Alice's client id with a huge watermark: Alice's next send still runs.
    const ledger = new DeliveryLedger();
    const ran: string[] = [];
    await ledger.run(parseDeliveryId(["aliceClient", 1_000_000, 999_999], "mallory")!, () => ran.push("mallory"));
    const alice = await ledger.run(parseDeliveryId(["aliceClient", 1, 0], "alice")!, () => ran.push("alice #1"));
    expect(alice.duplicate).toBe(false);
    expect(ran).toEqual(["mallory", "alice #1"]);
  });
});
