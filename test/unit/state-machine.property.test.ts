// Random interleavings of app calls, server messages (hello, exit, migration), drops, failed starts,
// stop/start and time, against GracefulConnection over the fake connection (fast-check). Whatever
// happens: no transition the table refuses is ever attempted (SG21), every `state` event is a change
// the table allows, and no call hangs — each settles within its time limit, whatever state the
// connection is left in; and after stop() no connection is left running, even when the app called
// stop(), start() or send() from inside an event listener mid-transition.
// 300 sequences of up to 40 steps per run; a deeper search: RUNS=8000 LEN=100 npx vitest run <this file>.
import fc from "fast-check";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { next, STATE, TRANSITIONS, type Phase, type TransitionEvent } from "../../src/client/transitions";
import { overlap } from "../../src/overlap";
import { FakeHubConnection } from "./fake-hub-connection";
import { setup, started, tick } from "./harness";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

/** The public state changes the table allows ("Connected → Reconnecting", …). */
const ALLOWED = new Set<string>();
for (const p of Object.keys(STATE) as Phase[]) {
  for (const e of Object.keys(TRANSITIONS) as TransitionEvent[]) {
    const q = next(p, e);
    if (q && STATE[q] !== STATE[p]) ALLOWED.add(`${STATE[p]} → ${STATE[q]}`);
  }
}

const server = fc.constantFrom("A", "B", "C");
const action = fc.oneof(
  fc.record({ t: fc.constant("send" as const), slow: fc.boolean() }), // "Slow" waits for its receipt
  fc.constant({ t: "invoke" } as const),
  fc.record({ t: fc.constant("complete" as const), method: fc.constantFrom("Work", "Slow") }),
  fc.record({ t: fc.constant("fail" as const), method: fc.constantFrom("Work", "Slow") }),
  fc.record({ t: fc.constant("hello" as const), server, from: fc.option(server, { nil: undefined }) }),
  { arbitrary: fc.record({ t: fc.constant("exit" as const), server: fc.option(server, { nil: undefined }), mode: fc.constantFrom("WaitForClientsClose", "MigrateClients", undefined) }), weight: 3 },
  fc.constant({ t: "drop" } as const),
  fc.constant({ t: "refuse" } as const),
  fc.constant({ t: "nextStartFails" } as const),
  fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 3_000 }) }),
  fc.record({ t: fc.constant("hubLoop" as const), ok: fc.boolean() }),
  fc.constant({ t: "stop" } as const),
  fc.constant({ t: "start" } as const),
  // The app acts from inside a listener, in the middle of a transition.
  fc.record({
    t: fc.constant("reenter" as const),
    event: fc.constantFrom("undelivered", "state", "exit", "draining", "migrated", "server", "reconnecting", "reconnected", "resumed", "closed"),
    call: fc.constantFrom("stop", "start", "send"),
  }),
);

it("never attempts a refused transition, only makes allowed state changes, and settles every call", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(action, fc.nat()), { minLength: 1, maxLength: Number(process.env.LEN) || 40, size: "max" }), fc.boolean(), fc.boolean(), fc.constantFrom(0, 3), fc.boolean(), async (actions, automaticReconnect, retryable, maxInterruptions, withOverlap) => {
      // With `overlap`, exits build new connections (more fakes): each step acts on one of them.
      const hubs: FakeHubConnection[] = [];
      const createConnection = () => {
        const hub = new FakeHubConnection([], { label: `hub${hubs.length + 1}`, firstConnection: (hubs.length + 1) * 100 });
        hub.autoComplete = (m) => m === "Chat";
        hubs.push(hub);
        return hub;
      };
      const h = setup({
        drainTimeoutMs: 2_000, migrationWaitMs: 1_000, callTimeoutMs: 10_000, retryableMethods: retryable ? ["Work"] : [], maxInterruptions,
        ...(withOverlap ? { overlap: overlap({ createConnection, messageKey: (_m, [x]) => (typeof x === "number" ? String(x) : undefined) }) } : {}),
      }, { automaticReconnect });
      hubs.unshift(h.hub);
      const changes: string[] = [];
      h.conn.events.on("state", ({ from, to }) => changes.push(`${from} → ${to}`));
      await started(h, "A");
      const calls: Array<{ settled: boolean }> = [];
      const track = (p: Promise<unknown>) => {
        const c = { settled: false };
        calls.push(c);
        p.then(() => { c.settled = true; }, () => { c.settled = true; });
      };
      let n = 0;
      const reentrant: Array<() => void> = [];
      for (const [a, pick] of actions) {
        const hub = pick % 3 === 0 ? hubs[pick % hubs.length]! : hubs[hubs.length - 1]!; // mostly the newest
        switch (a.t) {
          case "send": track(h.conn.send(a.slow ? "Slow" : "Chat", ++n)); break;
          case "invoke": track(h.conn.invoke("Work", ++n)); break;
          case "complete": if ([...hub.invocations.values()].some((i) => i.method === a.method)) hub.complete(a.method); break;
          case "fail": if ([...hub.invocations.values()].some((i) => i.method === a.method)) hub.fail(a.method, "boom"); break;
          case "hello": if (hub.state === "Connected") hub.deliver("graceful.hello", a.from && a.from !== a.server ? { serverId: a.server, migratedFrom: a.from } : { serverId: a.server }); break;
          case "exit": if (hub.state === "Connected") hub.deliver("exit", { ...(a.server ? { serverId: a.server } : {}), ...(a.mode ? { mode: a.mode } : {}) }); break;
          case "drop": if (hub.state === "Connected") hub.drop(); break;
          case "refuse": if (hub.state === "Connected") hub.closeFromServer("bye", false); break;
          case "nextStartFails": hub.startOutcomes.push(new Error("negotiate failed")); break;
          case "tick": await tick(a.ms); break;
          case "hubLoop": // the HubConnection's own withAutomaticReconnect loop succeeds or gives up
            if (hub.state === "Reconnecting") a.ok ? hub.autoReconnected() : hub.autoGiveUp();
            break;
          case "stop": track(h.conn.stop()); break;
          case "start": track(h.conn.start()); break;
          case "reenter": {
            const once = () => {
              h.conn.events.off(a.event, once);
              if (a.call === "stop") track(h.conn.stop());
              else if (a.call === "start") track(h.conn.start());
              else track(h.conn.send("Chat", ++n));
            };
            h.conn.events.on(a.event, once);
            reentrant.push(() => h.conn.events.off(a.event, once));
            break;
          }
        }
        await tick();
      }
      // Nothing hangs: past every time limit, each call (and start/stop) has settled, whatever the state.
      // (A listener may make a call late, when an earlier one times out: give each such round its time.)
      for (let made = -1; made !== calls.length; ) {
        made = calls.length;
        await tick(15_000);
      }
      expect(calls.filter((c) => !c.settled)).toHaveLength(0);
      expect(h.warnings.filter((w) => w.startsWith("SG21"))).toEqual([]);
      for (const c of changes) expect(ALLOWED.has(c), c).toBe(true);
      for (const off of reentrant) off(); // a start() from a `closed` listener would rightly start again
      await h.conn.stop();
      await tick(60_000);
      expect(h.conn.state).toBe("Disconnected");
      for (const hub of hubs) expect(hub.state, "no connection left running after stop()").toBe("Disconnected");
    }),
    { numRuns: Number(process.env.RUNS) || 300 },
  );
});
