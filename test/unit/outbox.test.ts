// The Outbox on its own: delivery numbers and the watermark the server orders by, the size check,
// the buffer bound, one timer for every deadline.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Outbox, messageBytes, type OutboxOptions } from "../../src/client/outbox";
import { FakeHubConnection } from "./fake-hub-connection";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

async function connected(log: string[], o: Partial<OutboxOptions> = {}) {
  const hub = new FakeHubConnection(log);
  await hub.start();
  const box = new Outbox({
    limit: 10, maxInterruptions: 3, migrationGraceMs: 2_000, maxMessageBytes: 32_768, deliveryIds: true, clientId: "cid",
    onRetry: (c, r) => log.push(`retry ${c.method} ${r}`),
    onUndelivered: (c, e) => log.push(`undelivered ${c.method} ${e.name}`),
    ...o,
  });
  box.connected(hub, 1);
  box.open();
  log.length = 0;
  return { hub, box };
}

describe("Outbox", () => {
  it("numbers sends 1, 2, … and tells the server below which number nothing is unsettled", async () => {
    const log: string[] = [];
    const { hub, box } = await connected(log);
    const settled: string[] = [];
    for (const i of [1, 2, 3]) void box.add("Chat", [i], true, true, Infinity).then(() => settled.push(`s${i}`));
    hub.complete("Chat", undefined); // 1
    await vi.advanceTimersByTimeAsync(0);
    void box.add("Chat", [4], true, true, Infinity);
    const p = [...hub.invocations.values()];
    p.find((x) => x.args[0] === 3)!.resolve(undefined); // 3 settles before 2
    await vi.advanceTimersByTimeAsync(0);
    void box.add("Chat", [5], true, true, Infinity);
    void box.add("Echo", [6], false, false, Infinity); // invokes carry no number
    expect(log).toEqual([
      "hub.send GracefulDelivery cid,1,0", "hub.invoke Chat 1",
      "hub.send GracefulDelivery cid,2,0", "hub.invoke Chat 2",
      "hub.send GracefulDelivery cid,3,0", "hub.invoke Chat 3",
      "hub.send GracefulDelivery cid,4,1", "hub.invoke Chat 4", // 1 settled, 2 not
      "hub.send GracefulDelivery cid,5,1", "hub.invoke Chat 5", // 3 settled, but 2 still holds the mark
      "hub.invoke Echo 6",
    ]);
    expect(settled).toEqual(["s1", "s3"]);
  });

  it("refuses a message over the limit before it exists, and a new one when the buffer is full", async () => {
    const log: string[] = [];
    const { box } = await connected(log, { maxMessageBytes: 200, limit: 1 });
    await expect(box.add("Chat", ["é".repeat(100)], true, true, Infinity)).rejects.toMatchObject({ name: "MessageTooLargeError", limit: 200 });
    box.hold();
    const a = box.add("Chat", ["a"], true, true, Infinity);
    await expect(box.add("Chat", ["b"], true, true, Infinity)).rejects.toMatchObject({ name: "BufferFullError" });
    expect(box.length).toBe(1);
    void a.catch(() => {});
    expect(log).toEqual(["undelivered Chat BufferFullError"]);
    expect(messageBytes("m", [1, true, null, "short"], 32_768)).toBe(0); // no serialisation for small primitives
    expect(messageBytes("m", [{ text: "x".repeat(40_000) }], 32_768)).toBeGreaterThan(40_000);
  });

  it("times every call with one timer: buffered and in flight alike, per-call limits included", async () => {
    const log: string[] = [];
    const { box } = await connected(log);
    const out: string[] = [];
    const track = (label: string, p: Promise<unknown>) => p.then(() => out.push(`${label} ok`), (e: Error) => out.push(`${label} ${e.name}`));
    void track("slow", box.add("Slow", [], false, false, 1_000));
    box.hold();
    void track("queued", box.add("Queued", [], false, false, 500));
    void track("free", box.add("Free", [], false, false, Infinity));
    await vi.advanceTimersByTimeAsync(500);
    expect(out).toEqual(["queued CallTimeoutError"]);
    await vi.advanceTimersByTimeAsync(500);
    expect(out).toEqual(["queued CallTimeoutError", "slow CallTimeoutError"]);
    expect(vi.getTimerCount()).toBe(0); // nothing left with a deadline: no timer armed
    expect(box.length).toBe(1);
  });
});
