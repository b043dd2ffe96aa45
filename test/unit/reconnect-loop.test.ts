// The reconnect loop on its own: attempts by the policy, gives up, stops when its flow is aborted.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { reconnectLoop, type ReconnectHooks } from "../../src/client/reconnect-loop";

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

function hooks(log: string[], outcomes: Array<"ok" | Error>, delays: Array<number | null | "throw" | -1>): ReconnectHooks {
  return {
    policy: { nextRetryDelayInMilliseconds: () => { const d = delays.shift(); if (d === "throw") throw new Error("policy bug"); return d === undefined ? null : (d as number | null); } },
    onAttempt: (a, ms, e) => log.push(`attempt ${a} in ${ms}ms${e ? ` after ${e.message}` : ""}`),
    onFailure: (a, e) => log.push(`failed ${a}: ${e.message}`),
    onPolicyError: (e) => log.push(`policy error ${(e as Error).name}`),
    wait: (ms) => new Promise((r) => setTimeout(() => r(true), ms)),
    connect: async () => {
      const o = outcomes.shift() ?? "ok";
      log.push("connect");
      if (o !== "ok") throw o;
    },
  };
}

describe("reconnectLoop", () => {
  it("retries by the policy until one attempt connects", async () => {
    const log: string[] = [];
    const p = reconnectLoop(hooks(log, [new Error("down"), "ok"], [0, 500]), new AbortController().signal, undefined, "why");
    await vi.advanceTimersByTimeAsync(500);
    expect(await p).toEqual({ connected: true, attempt: 2 });
    expect(log).toEqual(["attempt 1 in 0ms", "connect", "failed 1: down", "attempt 2 in 500ms after down", "connect"]);
  });

  it("gives up when the policy says null, or misbehaves (reported)", async () => {
    const log: string[] = [];
    expect(await reconnectLoop(hooks(log, [new Error("down")], [0, null]), new AbortController().signal, undefined, "why")).toMatchObject({ connected: false, retries: 1, error: { message: "down" } });
    expect(await reconnectLoop(hooks(log, [], ["throw"]), new AbortController().signal, undefined, "why")).toEqual({ connected: false, retries: 0, error: undefined });
    expect(await reconnectLoop(hooks(log, [], [-1]), new AbortController().signal, undefined, "why")).toEqual({ connected: false, retries: 0, error: undefined });
    expect(log).toEqual(["attempt 1 in 0ms", "connect", "failed 1: down", "policy error Error", "policy error RangeError"]);
  });

  it("ends quietly when its flow is aborted mid-wait or mid-connect", async () => {
    const log: string[] = [];
    const ac = new AbortController();
    const p = reconnectLoop(hooks(log, ["ok"], [1_000]), ac.signal, new Error("dropped"), "why");
    await vi.advanceTimersByTimeAsync(10);
    ac.abort();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await p).toBeUndefined();
    expect(log).toEqual(["attempt 1 in 1000ms after dropped"]);
  });
});
