// Specific SDK behaviours with the real client and the kit, once per supported @microsoft/signalr
// major: a completion lost in a migration, withAutomaticReconnect cooperation, buffered sends, a
// server Close that disallows reconnecting, the size check, call time limits, retryNow().
import type { HubConnectionBuilder } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { CallTimeoutError, GracefulConnection, InvocationInterruptedError, MessageTooLargeError } from "../../src/index.js";
import { GracefulShutdownMode, Hub } from "../../src/testing/index.js";
import { event, startKit, type Kit } from "./kit.js";
import { SIGNALR_VERSIONS } from "./signalr-versions.js";

let slowStarted: (() => void) | undefined;
const ran: string[] = [];

class Chat extends Hub {
  where() {
    return this.context.serverId;
  }
  /** Slow enough that a migration lands while it runs; records each run. */
  async slowWork(tag: string) {
    ran.push(`${tag}@${this.context.serverId}`);
    slowStarted?.();
    await new Promise((r) => setTimeout(r, 150));
    return `${tag} done on ${this.context.serverId}`;
  }
  echo(x: unknown) {
    return x;
  }
  /** The server closes this client's connection with an error: a Close without allowReconnect. */
  kickMe() {
    this.context.abort("You are not welcome here.");
  }
  never() {
    return new Promise(() => {});
  }
}

let kit: Kit;
const conns: GracefulConnection[] = [];
afterEach(async () => {
  await Promise.all(conns.splice(0).map((c) => c.stop().catch(() => {})));
  ran.length = 0;
  await kit?.close();
});

describe.each(SIGNALR_VERSIONS)("$name", ({ HubConnectionBuilder, LogLevel }) => {
function graceful(url: string, configure?: (b: HubConnectionBuilder) => HubConnectionBuilder, options = {}) {
  let b = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None);
  if (configure) b = configure(b);
  const c = new GracefulConnection(b.build(), { logger: { log() {} }, ...options });
  conns.push(c);
  return c;
}

const started = () => new Promise<void>((r) => (slowStarted = r));

it("a completion lost in a migration: a retryable call is re-sent and resolves on the new server", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
  const c = graceful(kit.balancer.url("chat"), undefined, { retryableMethods: ["slowwork"] });
  await c.start();
  const first = c.serverId ?? (await event<{ serverId: string }>(c.events as any, "server")).serverId;
  const from = kit.servers.find((s) => s.id === first)!;
  const begun = started();
  const result = c.invoke("SlowWork", "r1");
  await begun;
  const migrated = event(c.events as any, "migrated");
  await from.shutdown({ mode: GracefulShutdownMode.MigrateClients, timeoutMs: 3_000 });
  expect(await migrated).toMatchObject({ from: from.id });
  const to = kit.servers.find((s) => s !== from)!.id;
  expect(await result).toBe(`r1 done on ${to}`);
  expect(ran).toEqual([`r1@${from.id}`, `r1@${to}`]);
});

it("a completion lost in a migration: a non-retryable call is rejected with a named, retryable error", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
  const c = graceful(kit.balancer.url("chat"), undefined, { migrationGraceMs: 300 });
  await c.start();
  const first = c.serverId ?? (await event<{ serverId: string }>(c.events as any, "server")).serverId;
  const from = kit.servers.find((s) => s.id === first)!;
  const begun = started();
  const result = c.invoke("SlowWork", "n1");
  const outcome = result.then(() => "resolved", (e) => e);
  await begun;
  await from.shutdown({ mode: GracefulShutdownMode.MigrateClients, timeoutMs: 3_000 });
  const e = await outcome;
  expect(e).toBeInstanceOf(InvocationInterruptedError);
  expect(e).toMatchObject({ name: "InvocationInterruptedError", reason: "migrated", retryable: true, method: "SlowWork" });
  expect(ran).toEqual([`n1@${from.id}`]);
  expect(await c.invoke("Echo", 1)).toBe(1);
});

it("with withAutomaticReconnect(), a crash leads to one reconnection, not two", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
  const c = graceful(kit.balancer.url("chat"), (b) => b.withAutomaticReconnect([0, 0, 0]));
  await c.start();
  const first = c.serverId ?? (await event<{ serverId: string }>(c.events as any, "server")).serverId;
  let opened = 0;
  kit.service.on("clientConnected", () => opened++);
  const resumed = event(c.events as any, "resumed", (e: any) => e.reason === "dropped");
  await kit.servers.find((s) => s.id === first)!.kill();
  await resumed;
  expect(await c.invoke("Where")).not.toBe(first);
  expect(opened).toBe(1);
  expect(kit.service.connections()).toHaveLength(1);
});

it("sends made while reconnecting are buffered and flushed in order after onResume", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
  const c = graceful(kit.balancer.url("chat"));
  const order: string[] = [];
  c.onResume(async (ctx) => {
    order.push(`resume:${ctx.reason}`);
    await ctx.invoke("Echo", 0);
  });
  await c.start();
  const first = c.serverId ?? (await event<{ serverId: string }>(c.events as any, "server")).serverId;
  const reconnecting = event(c.events as any, "reconnecting");
  void kit.servers.find((s) => s.id === first)!.kill();
  await reconnecting;
  const results = [1, 2, 3].map((i) => c.invoke("Echo", i).then((v) => order.push(`echo:${v}`)));
  expect(c.state).toBe("Reconnecting");
  expect(c.buffered).toBe(3);
  await Promise.all(results);
  expect(order).toEqual(["resume:start", "resume:dropped", "echo:1", "echo:2", "echo:3"]);
});

it("a server Close that disallows reconnecting is honoured: closed with reason serverClosed, no reconnect", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
  const c = graceful(kit.balancer.url("chat"));
  await c.start();
  let opened = 0;
  kit.service.on("clientConnected", () => opened++);
  const closed = event<{ reason: string; error?: Error }>(c.events as any, "closed");
  void c.invoke("KickMe").catch(() => {});
  const e = await closed;
  expect(e.reason).toBe("serverClosed");
  expect(e.error?.message).toContain("You are not welcome here.");
  expect(c.state).toBe("Disconnected");
  await expect(c.send("Echo", 1)).rejects.toMatchObject({ name: "ConnectionStoppedError", reason: "serverClosed" });
  expect(opened).toBe(0);
});

it("refuses an oversized message before sending it (the connection carries on) and bounds a call that never returns", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 1 });
  const c = graceful(kit.balancer.url("chat"));
  await c.start();
  const big = "x".repeat(40_000);
  await expect(c.send("Echo", big)).rejects.toBeInstanceOf(MessageTooLargeError);
  expect(await c.invoke("Echo", "still here")).toBe("still here"); // never sent: the server did not close us
  // (the server runs one call per client at a time: nothing after Never would run on this connection)
  await expect(c.withTimeout(200).invoke("Never")).rejects.toBeInstanceOf(CallTimeoutError);
  expect(c.inFlight).toBe(0);
  expect(c.state).toBe("Connected");
});

it("retryNow() cuts a reconnect wait short when a server comes back", async () => {
  kit = await startKit({ hubs: { chat: Chat }, servers: 1 });
  const c = graceful(kit.balancer.url("chat"), undefined, { reconnectPolicy: { nextRetryDelayInMilliseconds: () => 60_000 } });
  await c.start();
  const waiting = event(c.events as any, "reconnecting", (e: any) => e.delayMs === 60_000);
  await kit.servers[0]!.kill();
  await waiting;
  await kit.addServer();
  const resumed = event(c.events as any, "resumed");
  expect(c.retryNow()).toBe(true);
  await resumed;
  expect(c.state).toBe("Connected");
});
});
