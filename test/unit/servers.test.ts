// The server bookkeeping (src/client/servers.ts): which server we are on, which we left, the last migration.
import { describe, expect, it } from "vitest";
import { Servers } from "../../src/client/servers";

describe("Servers", () => {
  it("reports a new server with the one before, and nothing for a repeated hello", () => {
    const s = new Servers();
    expect(s.hello({ serverId: "a" })).toEqual({ server: { serverId: "a" } });
    expect(s.hello({ serverId: "a" })).toEqual({});
    s.forget();
    expect(s.current).toBeUndefined();
    expect(s.hello({ serverId: "b" })).toEqual({ server: { serverId: "b", previous: "a" } });
  });

  it("reports a migration once; the same move again is a repeat until the connection is forgotten", () => {
    const s = new Servers();
    s.hello({ serverId: "a" });
    expect(s.hello({ serverId: "b", migratedFrom: "a" })).toEqual({ server: { serverId: "b", previous: "a" }, migration: { from: "a", to: "b" } });
    expect(s.hello({ serverId: "b", migratedFrom: "a" })).toEqual({ migration: "repeat" });
    s.forget();
    expect(s.hello({ serverId: "b", migratedFrom: "a" })).toEqual({ server: { serverId: "b" }, migration: { from: "a", to: "b" } });
  });

  it("remembers the last 16 servers left", () => {
    const s = new Servers();
    s.leave(); // no server yet: nothing to remember
    for (let i = 0; i < 17; i++) {
      s.hello({ serverId: `s${i}` });
      s.leave();
      s.forget();
    }
    expect(s.hasLeft("s0")).toBe(false);
    expect(s.hasLeft("s1")).toBe(true);
    expect(s.hasLeft("s16")).toBe(true);
  });
});
