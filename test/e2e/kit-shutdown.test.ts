// Both graceful-shutdown modes end to end, with the real client: the four steps,
// migration on both sides, timeouts, no target, mode Off and kill.
import { afterEach, describe, expect, it } from "vitest";
import { GracefulShutdownMode, Hub, HELLO_METHOD, type MiniServer, type Migration } from "../../src/testing/index.js";
import { closed, event, nextCall, startKit, type Kit } from "./kit.js";

const seen: { server: string; what: string; id: string; migration?: Migration | undefined }[] = [];

class Chat extends Hub {
  override onConnected() {
    seen.push({ server: this.context.serverId, what: "connected", id: this.context.connectionId, migration: this.context.migration });
  }
  override onDisconnected() {
    seen.push({ server: this.context.serverId, what: "disconnected", id: this.context.connectionId, migration: this.context.migration });
  }
  where() {
    return this.context.serverId;
  }
  async join(group: string) {
    await this.groups.add(this.context.connectionId, group);
  }
  async toGroup(group: string, text: string) {
    await this.clients.group(group).send("groupMessage", text);
  }
  slow(ms: number) {
    slowStarted?.(undefined);
    return new Promise((r) => setTimeout(() => r("done"), ms));
  }
}

let kit: Kit;
let slowStarted: ((v: unknown) => void) | undefined;
afterEach(async () => {
  seen.length = 0;
  await kit?.close();
});

const ms = (mode: GracefulShutdownMode) => ({ serverOptions: { gracefulShutdown: { mode, timeoutMs: 5_000 } } });

describe("WaitForClientsClose", () => {
  it("FIN → offline → FINACK → hooks in order → serves clients until they leave", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2, ...ms(GracefulShutdownMode.WaitForClientsClose) });
    const [a, b] = kit.servers as [MiniServer, MiniServer];
    const c1 = await kit.connect("chat", { server: a });
    const c2 = await kit.connect("chat", { server: a }); // lands on b (fewest connections)
    expect(await c1.invoke("Where")).toBe("server-a");
    expect(await c2.invoke("Where")).toBe("server-b");
    const order: string[] = [];
    kit.service.on("serverOffline", (e) => order.push(`offline:${e.serverId}`));
    a.gracefulShutdown.add("chat", async () => {
      order.push("hook1");
      await new Promise((r) => setTimeout(r, 20));
      order.push("hook1-done");
    });
    a.gracefulShutdown.add("chat", () => void order.push("hook2"));
    const exit1 = nextCall(c1, "exit");
    const exit2 = nextCall(c2, "exit");
    const done = a.shutdown();
    // Every client hears the exit; it names the leaving server so c2 (on b) can ignore it.
    expect((await exit1)[0]).toMatchObject({ serverId: "server-a", mode: "WaitForClientsClose" });
    expect((await exit2)[0]).toMatchObject({ serverId: "server-a" });
    // New connections avoid the offline server; the old client is still served.
    const c3 = await kit.connect("chat", { server: b });
    expect(await c3.invoke("Where")).toBe("server-b");
    expect(await c1.invoke("Where")).toBe("server-a");
    expect(kit.service.servers().find((s) => s.serverId === "server-a")).toMatchObject({ online: false, connectionCount: 1 });
    await c1.stop();
    const report = await done;
    expect(order).toEqual(["offline:server-a", "hook1", "hook1-done", "hook2"]);
    expect(report).toMatchObject({ mode: GracefulShutdownMode.WaitForClientsClose, closedByClients: 1, migrated: 0, dropped: 0, timedOut: false, clientsAtStart: 1 });
    expect(report.hooks.map((h) => h.name)).toEqual(["announceExit", "hook1", "hook2"]);
    expect(report.hooks.map((h) => h.index)).toEqual([0, 1, 2]);
    expect(report.hooks[1]!.startedAtMs).toBeGreaterThanOrEqual(report.finAckMs);
    expect(report.durationMs).toBeLessThan(5_000);
    expect(await c2.invoke("Where")).toBe("server-b");
  });

  it("with no clients, finishes in milliseconds, not at the timeout", async () => {
    kit = await startKit({ hubs: { chat: Chat }, ...{ serverOptions: { gracefulShutdown: { mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 30_000 } } } });
    const report = await kit.servers[0]!.shutdown();
    expect(report.durationMs).toBeLessThan(2_000);
    expect(report).toMatchObject({ dropped: 0, timedOut: false });
  });

  it("drops the clients still there at the timeout, with an error", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { gracefulShutdown: { mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 200 } } });
    const c = await kit.connect();
    const gone = closed(c);
    const report = await kit.servers[0]!.shutdown();
    expect(report).toMatchObject({ dropped: 1, timedOut: true, closedByClients: 0 });
    expect((await gone)?.message).toMatch(/server-a/);
  });
});

describe("MigrateClients", () => {
  it("moves each client to another server: same connection id, groups kept, migration seen on both sides", async () => {
    // A plain client gets no hello unless the server is told to send it to everyone.
    kit = await startKit({ hubs: { chat: Chat }, servers: 2, serverOptions: { ...ms(GracefulShutdownMode.MigrateClients).serverOptions, hello: "always" } });
    const [a] = kit.servers as [MiniServer];
    const c = await kit.connect("chat", { server: a });
    const other = await kit.connect("chat", { server: a });
    expect(await c.invoke("Where")).toBe("server-a");
    await c.invoke("Join", "room");
    const id = c.connectionId;
    const hello = nextCall(c, HELLO_METHOD);
    let closedEarly = false;
    c.onclose(() => (closedEarly = true));
    const report = await a.shutdown();
    expect(report).toMatchObject({ migrated: 1, dropped: 0, closedByClients: 0, timedOut: false });
    expect((await hello)[0]).toEqual({ serverId: "server-b", migratedFrom: "server-a" });
    expect(c.connectionId).toBe(id);
    expect(await c.invoke("Where")).toBe("server-b");
    expect(closedEarly).toBe(false);
    expect(kit.service.connections().find((x) => x.connectionId === id)).toMatchObject({ serverId: "server-b", groups: ["room"] });
    const g = nextCall(c, "groupMessage");
    await other.invoke("ToGroup", "room", "still here");
    expect(await g).toEqual(["still here"]);
    expect(seen.filter((s) => s.id === id)).toEqual([
      { server: "server-a", what: "connected", id, migration: undefined },
      { server: "server-a", what: "disconnected", id, migration: { from: "server-a", to: "server-b" } },
      { server: "server-b", what: "connected", id, migration: { from: "server-a", to: "server-b" } },
    ]);
  });

  it("an invocation in flight at the move never completes from the old server (its output is discarded)", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2, ...ms(GracefulShutdownMode.MigrateClients) });
    const c = await kit.connect("chat", { server: kit.servers[0] });
    await kit.connect("chat", { server: kit.servers[0] });
    let settled = false;
    const started = new Promise((r) => (slowStarted = r));
    void c.invoke("Slow", 100).then(() => (settled = true), () => (settled = true));
    await started; // the request reached the old server
    // The shutdown ends after the old server's onDisconnected, which runs after Slow returned
    // and wrote its completion: by then the completion is discarded, not in flight.
    await kit.servers[0]!.shutdown();
    expect(await c.invoke("Where")).toBe("server-b");
    expect(settled).toBe(false);
  });

  it("with no other server, the client stays until the timeout drops it", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { gracefulShutdown: { mode: GracefulShutdownMode.MigrateClients, timeoutMs: 200 } } });
    const c = await kit.connect();
    const gone = closed(c);
    const report = await kit.servers[0]!.shutdown();
    expect(report).toMatchObject({ migrated: 0, dropped: 1, timedOut: true });
    expect(await gone).toBeInstanceOf(Error);
  });
});

describe("Off and kill", () => {
  it("mode Off drops at once, runs no hooks", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { gracefulShutdown: { mode: GracefulShutdownMode.Off, timeoutMs: 10_000 } } });
    let hookRan = false;
    kit.servers[0]!.gracefulShutdown.add("chat", () => void (hookRan = true));
    const c = await kit.connect();
    const gone = closed(c);
    const report = await kit.servers[0]!.shutdown();
    expect(hookRan).toBe(false);
    expect(report).toMatchObject({ mode: GracefulShutdownMode.Off, dropped: 1, hooks: [] });
    expect(report.durationMs).toBeLessThan(2_000);
    expect((await gone)?.message).toMatch(/shut down/);
  });

  it("kill cuts the links: the clients are dropped with an error, the other server carries on", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
    const c1 = await kit.connect("chat", { server: kit.servers[0] });
    const c2 = await kit.connect("chat", { server: kit.servers[0] });
    expect(await c1.invoke("Where")).toBe("server-a");
    const gone = closed(c1);
    const unlinked = event(kit.service, "serverUnlinked");
    await kit.servers[0]!.kill();
    expect(await unlinked).toMatchObject({ serverId: "server-a", abrupt: true });
    expect((await gone)?.message).toMatch(/lost/);
    expect(await c2.invoke("Where")).toBe("server-b");
    const c3 = await kit.connect("chat", { server: kit.servers[1] });
    expect(await c3.invoke("Where")).toBe("server-b");
  });
});
