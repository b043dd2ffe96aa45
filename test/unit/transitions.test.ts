// The state table (src/client/transitions.ts): the paths docs/client.md "States" describes, and the
// jumps it does not allow.
import { describe, expect, it } from "vitest";
import { next, TRANSITIONS, type TransitionEvent } from "../../src/client/transitions";
import type { ConnectionState } from "../../src/client/state";

const walk = (from: ConnectionState, events: TransitionEvent[]) =>
  events.reduce<ConnectionState[]>((path, e) => {
    const to = next(path[path.length - 1]!, e);
    if (to === undefined) throw new Error(`${e} refused in ${path[path.length - 1]}`);
    return [...path, to];
  }, [from]);

describe("transition table", () => {
  it("has the documented paths", () => {
    expect(walk("Disconnected", ["start", "retry", "resumed"])).toEqual(["Disconnected", "Connecting", "Connecting", "Connected"]);
    expect(walk("Connected", ["exit", "drained", "retry", "resumed"])).toEqual(["Connected", "Draining", "Reconnecting", "Reconnecting", "Connected"]);
    expect(walk("Connected", ["dropped", "retry", "resumed"])).toEqual(["Connected", "Reconnecting", "Reconnecting", "Connected"]);
    expect(walk("Connected", ["resumed"])).toEqual(["Connected", "Connected"]); // a migration: no state change
    expect(walk("Draining", ["stop", "stopped"])).toEqual(["Draining", "Disconnecting", "Disconnected"]);
    expect(walk("Reconnecting", ["failed"])).toEqual(["Reconnecting", "Disconnected"]);
  });

  it("refuses what it does not list", () => {
    expect(next("Disconnected", "resumed")).toBeUndefined();
    expect(next("Draining", "exit")).toBeUndefined();
    expect(next("Reconnecting", "exit")).toBeUndefined();
    expect(next("Disconnected", "stop")).toBeUndefined();
    expect(next("Connected", "drained")).toBeUndefined();
    for (const [event, row] of Object.entries(TRANSITIONS)) if (row.from !== "any") expect(row.from.length, event).toBeGreaterThan(0);
  });
});
