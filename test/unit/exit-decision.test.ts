// The exit decision (src/client/exit-decision.ts): what an exit message means for this connection,
// from the facts alone. GracefulConnection's own tests (exit.test.ts, migration.test.ts) cover what
// it does with each answer.
import { describe, expect, it } from "vitest";
import { decideExit, readExit, type ExitFacts } from "../../src/client/exit-decision";

const facts = (f: Partial<ExitFacts> = {}): ExitFacts => ({
  state: "Connected", serverId: "s1", hasLeft: () => false, up: true, resuming: false, ...f,
});

describe("readExit", () => {
  it("reads a payload, an empty one, and says what is wrong with a bad one", () => {
    expect(readExit({ serverId: "s1", timeoutMs: 5000, mode: "MigrateClients" })).toEqual({ payload: { serverId: "s1", timeoutMs: 5000, mode: "MigrateClients" } });
    expect(readExit(undefined)).toEqual({ payload: {} });
    expect(readExit(null)).toEqual({ payload: {} });
    expect(readExit({ serverId: 42 })).toEqual({ warn: 8 }); // not an id: ignored
    expect(readExit("s1")).toEqual({ payload: {}, warn: 9 }); // malformed: an exit for our server
  });
});

describe("decideExit", () => {
  it("drains a WaitForClientsClose exit for our server (or for whichever server, without serverId)", () => {
    expect(decideExit({ serverId: "s1" }, facts())).toEqual("drain");
    expect(decideExit({}, facts())).toEqual("drain");
    expect(decideExit({ serverId: "s1", mode: "WaitForClientsClose" }, facts())).toEqual("drain");
  });

  it("waits for the migration on a MigrateClients exit", () => {
    expect(decideExit({ serverId: "s1", mode: "MigrateClients" }, facts())).toEqual("awaitMigration");
  });

  it("ignores another server's exit, and one from a server already left before the hello came", () => {
    expect(decideExit({ serverId: "s2" }, facts())).toEqual("otherServer");
    expect(decideExit({ serverId: "s0" }, facts({ serverId: undefined, hasLeft: (id) => id === "s0" }))).toEqual("alreadyLeft");
    expect(decideExit({ serverId: "s9" }, facts({ serverId: undefined }))).toEqual("drain"); // hello not yet here: trusted
  });

  it("ignores a second exit while draining", () => {
    expect(decideExit({ serverId: "s1" }, facts({ state: "Draining" }))).toEqual("alreadyDraining");
  });

  it("defers while resuming, and does nothing without a usable connection or before Connected", () => {
    expect(decideExit({}, facts({ resuming: true }))).toEqual("defer");
    expect(decideExit({}, facts({ up: false, state: "Reconnecting" }))).toEqual("noConnection");
    expect(decideExit({}, facts({ state: "Connecting" }))).toEqual("none");
  });
});
