// The overlap handoff's duplicate filter (duplicate-filter.ts) under random interleavings (fast-check):
// broadcasts reach both connections, each in its own order, interleaved anyhow; some calls reach one
// connection only, some carry no key; every inbound call runs each registered handler in turn, as a
// HubConnection does. Each handler must get every keyed call exactly once, and every unkeyed one as
// often as it arrived.
import fc from "fast-check";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { DuplicateFilter } from "../../src/client/duplicate-filter";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

/** One message the server sent: a broadcast (both connections) or for one; keyed or not. */
const message = fc.record({ to: fc.constantFrom("both", "old", "new"), keyed: fc.boolean(), method: fc.constantFrom("message", "Message", "typing") });

it("delivers each keyed call once to each handler, and each unkeyed one every time", () => {
  fc.assert(
    fc.property(fc.array(message, { maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 90 }), fc.integer({ min: 1, max: 3 }), (messages, picks, handlerCount) => {
      const filter = new DuplicateFilter((_m, [x]) => (x as { key?: string }).key, 10_000, 10_000);
      filter.open();
      // Each connection's queue, in the server's order.
      const sent = messages.map((m, i) => ({ ...m, id: i, key: m.keyed ? `k${i}` : undefined }));
      const queues = { old: sent.filter((m) => m.to !== "new"), new: sent.filter((m) => m.to !== "old") };
      const handlers = Array.from({ length: handlerCount }, () => ({ got: [] as number[] }));
      let p = 0;
      while (queues.old.length + queues.new.length > 0) {
        const side = queues.old.length === 0 ? "new" : queues.new.length === 0 ? "old" : picks[p++ % Math.max(1, picks.length)] ? "old" : "new";
        const m = queues[side].shift()!;
        for (const h of handlers) {
          if (!filter.drops(m.method, [{ key: m.key }], h, () => {}, () => {})) h.got.push(m.id);
        }
      }
      for (const h of handlers) {
        for (const m of sent) {
          const times = h.got.filter((id) => id === m.id).length;
          // Keys are per method (case-insensitive, as SignalR matches methods): k<i> is unique here.
          expect(times, `message ${m.id} (${m.to}, ${m.key ?? "no key"})`).toBe(m.key === undefined ? (m.to === "both" ? 2 : 1) : 1);
        }
      }
    }),
    { numRuns: Number(process.env.RUNS) || 500 },
  );
});
