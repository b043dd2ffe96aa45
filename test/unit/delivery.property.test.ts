// The delivery guarantee under random interruptions (fast-check): sends with delivery ids against a
// model server that keeps the ledger the delivery convention asks for (a marker names the next
// invocation; each delivery number runs once). Drops before or after a message reached the server,
// lost completions, migrations (re-sends on the same connection), exits (sends held for the next
// one) and time. Whatever happens: a send that resolved ran exactly once, none ran twice, a
// sender's sends ran in the order they were made, and every send settled.
// 300 sequences per run; a deeper search: RUNS=8000 LEN=100 npx vitest run <this file>.
import fc from "fast-check";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { DELIVERY_METHOD } from "../../src/index";
import { setup, started, tick } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

const action = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant("send" as const), slow: fc.boolean() }), weight: 4 }, // "Slow" waits for an explicit completion
  fc.constant({ t: "complete" } as const),
  fc.constant({ t: "drop" } as const),
  fc.constant({ t: "dropOnNextMessage" } as const), // the next message never reaches the server
  fc.record({ t: fc.constant("migrate" as const), to: fc.constantFrom("B", "C") }),
  fc.constant({ t: "exit" } as const),
  fc.constant({ t: "nextStartFails" } as const),
  fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 2_000 }) }),
);

it("runs each send at most once, in order, and exactly once when it resolved", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: Number(process.env.LEN) || 40, size: "max" }), fc.constantFrom(1, 3, 10), async (actions, maxInterruptions) => {
      const h = setup({ deliveryIds: true, maxInterruptions, drainTimeoutMs: 1_000, callTimeoutMs: 8_000 });
      const { hub, conn } = h;
      // The model server: a marker per connection names the next invocation; the ledger runs each number once.
      const marker = new Map<string, number>();
      const ledger = new Set<number>();
      const numberOf = new Map<number, number>(); // the app's message k → its delivery number
      const ran: number[] = []; // the app's messages, in the order the server ran them
      const problems: string[] = [];
      let dropOnNext = false;
      hub.onSend = (method, args) => {
        if (dropOnNext) {
          dropOnNext = false;
          hub.drop();
          return;
        }
        const connection = hub.connectionId ?? "?";
        if (method === DELIVERY_METHOD) {
          marker.set(connection, args[1] as number);
          return;
        }
        const k = args[0] as number;
        const n = marker.get(connection);
        marker.delete(connection);
        if (n === undefined) return void problems.push(`${method} ${k} arrived without its marker`);
        if (numberOf.has(k) && numberOf.get(k) !== n) problems.push(`message ${k} carried two numbers`);
        numberOf.set(k, n);
        if (ledger.has(n)) return; // a re-send of what ran: answered, not run again
        ledger.add(n);
        ran.push(k);
      };
      await started(h, "A");
      let server = "A";
      const outcome = new Map<number, "pending" | "resolved" | "rejected">();
      let k = 0;
      for (const a of actions) {
        switch (a.t) {
          case "send": {
            const mine = ++k;
            outcome.set(mine, "pending");
            conn.send(a.slow ? "Slow" : "Chat", mine).then(() => outcome.set(mine, "resolved"), () => outcome.set(mine, "rejected"));
            break;
          }
          case "complete": if ([...hub.invocations.values()].some((i) => i.method === "Slow")) hub.complete("Slow"); break;
          case "drop": if (hub.state === "Connected") hub.drop(); break;
          case "dropOnNextMessage": dropOnNext = true; break;
          case "migrate": // the service moved the connection: the new server says hello with migratedFrom
            if (hub.state === "Connected" && a.to !== server) {
              hub.deliver("graceful.hello", { serverId: a.to, migratedFrom: server });
              server = a.to;
            }
            break;
          case "exit": if (hub.state === "Connected") hub.deliver("exit", { serverId: server }); break;
          case "nextStartFails": hub.startOutcomes.push(new Error("negotiate failed")); break;
          case "tick": await tick(a.ms); break;
        }
        if (hub.state === "Connected" && conn.serverId === undefined) {
          server = "A";
          hub.deliver("graceful.hello", { serverId: server }); // each new connection's hello
        }
        await tick();
      }
      dropOnNext = false;
      // Let the pending Slow ones complete on whatever connection they are, then everything settle.
      for (let i = 0; i < 20 && [...outcome.values()].includes("pending"); i++) {
        while (hub.state === "Connected" && [...hub.invocations.values()].some((x) => x.method === "Slow")) hub.complete("Slow");
        await tick(1_000);
      }
      expect(problems).toEqual([]);
      expect([...outcome].filter(([, o]) => o === "pending")).toEqual([]);
      expect(new Set(ran).size, "a message ran twice").toBe(ran.length);
      expect(ran, "run in the order sent").toEqual([...ran].sort((x, y) => x - y));
      for (const [m, o] of outcome) if (o === "resolved") expect(ran.includes(m), `message ${m} resolved but never ran`).toBe(true);
      await conn.stop();
    }),
    { numRuns: Number(process.env.RUNS) || 300 },
  );
});
