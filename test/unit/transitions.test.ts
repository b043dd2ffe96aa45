// The state table (src/client/transitions.ts): the paths docs/client.md "States" describes (in the
// public states the app sees), the jumps it does not allow, and that every phase can be reached.
import { describe, expect, it } from "vitest";
import { next, RESUMING, STATE, TRANSITIONS, UP, type Phase, type TransitionEvent } from "../../src/client/transitions";

/** The public states along a path of events from `from`; throws on a refused event. */
const walk = (from: Phase, events: TransitionEvent[]) => {
  let phase = from;
  const states = [STATE[phase]];
  for (const e of events) {
    const to = next(phase, e);
    if (to === undefined) throw new Error(`${e} refused in ${phase}`);
    phase = to;
    states.push(STATE[phase]);
  }
  return { states, phase };
};

describe("transition table", () => {
  it("has the documented paths", () => {
    expect(walk("idle", ["start", "retry", "up", "resumed"]).states).toEqual(["Disconnected", "Connecting", "Connecting", "Connecting", "Connected"]);
    expect(walk("connected", ["exit", "drained", "retry", "up", "resumed"]).states).toEqual(["Connected", "Draining", "Reconnecting", "Reconnecting", "Reconnecting", "Connected"]);
    expect(walk("connected", ["dropped", "retry", "up", "resumed"]).states).toEqual(["Connected", "Reconnecting", "Reconnecting", "Reconnecting", "Connected"]);
    expect(walk("connected", ["hubDropped", "up", "resumed"]).states).toEqual(["Connected", "Reconnecting", "Reconnecting", "Connected"]);
    expect(walk("connected", ["hubDropped", "hubGaveUp", "retry", "up", "resumed"]).phase).toBe("connected");
    expect(walk("connected", ["migrated", "resumed"]).states).toEqual(["Connected", "Connected", "Connected"]); // a migration: no state change
    expect(walk("draining", ["stop", "stopped"]).states).toEqual(["Draining", "Disconnecting", "Disconnected"]);
    expect(walk("reconnecting", ["failed"]).states).toEqual(["Reconnecting", "Disconnected"]);
  });

  it("refuses what it does not list", () => {
    expect(next("idle", "resumed")).toBeUndefined();
    expect(next("draining", "exit")).toBeUndefined();
    expect(next("reconnecting", "exit")).toBeUndefined();
    expect(next("idle", "stop")).toBeUndefined();
    expect(next("connected", "drained")).toBeUndefined();
    expect(next("draining", "migrated")).toBeUndefined(); // leaving anyway: no resume on the old connection
    expect(next("migrating", "exit")).toBeUndefined(); // deferred until the resume completes
    expect(next("reconnecting", "dropped")).toBeUndefined(); // nothing up to drop
    expect(next("reconnecting", "hubGaveUp")).toBeUndefined();
  });

  it("reaches every phase from idle, and leads back to idle from each", () => {
    const phases = Object.keys(STATE) as Phase[];
    const events = Object.keys(TRANSITIONS) as TransitionEvent[];
    const seen = new Set<Phase>(["idle"]);
    for (let grew = true; grew; ) {
      grew = false;
      for (const p of [...seen]) for (const e of events) {
        const to = next(p, e);
        if (to && !seen.has(to)) { seen.add(to); grew = true; }
      }
    }
    expect([...seen].sort()).toEqual([...phases].sort());
    for (const p of phases) expect(next(p, "failed"), p).toBe("idle");
  });

  it("derives the connection's facts from the phase", () => {
    for (const p of RESUMING) expect(UP.has(p), p).toBe(true);
    expect([...UP].sort()).toEqual(["connected", "draining", "migrating", "reconnectResuming", "startResuming"]);
    // A resume only begins where a connection just came up or moved.
    for (const p of RESUMING) {
      const into = (Object.entries(TRANSITIONS) as [TransitionEvent, Record<string, Phase>][])
        .filter(([, row]) => Object.entries(row).some(([from, to]) => to === p && from !== "any"))
        .map(([e]) => e);
      expect(into.sort(), p).toEqual(p === "migrating" ? ["migrated"] : ["up"]);
    }
  });
});
