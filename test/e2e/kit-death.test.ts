// Death is death and reports add up: after kill() — and after shutdown() resolves — a
// server runs no hub code and delivers nothing, as a crashed process would; a shutdown
// report counts each client once; a server whose clients all left finishes at once.
import { afterEach, describe, expect, it } from "vitest";
import { GracefulShutdownMode, Hub } from "../../src/testing/index.js";
import { closed, startKit, type Kit } from "./kit.js";

/** Every hub call that started, with the time it started. */
const runs: { what: string; at: number }[] = [];
let release: () => void = () => {};
let blocked = Promise.resolve();
const block = () => (blocked = new Promise<void>((r) => (release = r)));

class Chat extends Hub {
  async busy(tag: string) {
    runs.push({ what: `busy ${tag}`, at: Date.now() });
    await blocked;
    // Work after the await: a dead server must not get its message out.
    await this.clients.all.send("after", tag);
    return tag;
  }
  note(tag: string) {
    runs.push({ what: `note ${tag}`, at: Date.now() });
  }
  override onDisconnected() {
    runs.push({ what: `disconnected ${this.context.connectionId}`, at: Date.now() });
  }
}

let kit: Kit;
afterEach(async () => {
  release();
  runs.length = 0;
  await kit?.close();
});

describe("death is death", () => {
  it("after kill(), queued invocations never run and a running one delivers nothing", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
    const [a] = kit.servers;
    const victim = await kit.connect("chat", { server: a! });
    const watcher = await kit.connect("chat", { server: a! }); // lands on b
    expect(kit.service.connections().find((c) => c.connectionId === watcher.connectionId)!.serverId).toBe("server-b");
    const heard: unknown[] = [];
    watcher.on("after", (t) => heard.push(t));
    block();
    void victim.invoke("Busy", "running").catch(() => {});
    await expect.poll(() => runs.length).toBe(1);
    for (let i = 0; i < 3; i++) void victim.send("Note", `queued ${i}`).catch(() => {});
    await expect.poll(() => a!.connectionCount).toBe(1);
    const gone = closed(victim);
    await a!.kill();
    const killedAt = Date.now();
    release(); // the running call resumes: its broadcast must go nowhere
    await gone;
    // a round trip through the service later, nothing more happened
    await watcher.invoke("Note", "probe");
    expect(runs.map((r) => r.what)).toEqual(["busy running", "note probe"]);
    expect(runs.filter((r) => r.at >= killedAt && r.what !== "note probe")).toEqual([]);
    expect(heard).toEqual([]);
  });

  it("after shutdown() resolves, a dropped client's queued work never runs", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const [a] = kit.servers;
    const c = await kit.connect();
    block();
    void c.invoke("Busy", "running").catch(() => {});
    await expect.poll(() => runs.length).toBe(1);
    for (let i = 0; i < 3; i++) void c.send("Note", `queued ${i}`).catch(() => {});
    const report = await a!.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 200 });
    expect(report).toMatchObject({ clientsAtStart: 1, closedByClients: 0, migrated: 0, dropped: 1, timedOut: true });
    release();
    await closed(c);
    expect(runs.map((r) => r.what)).toEqual(["busy running"]);
  });
});

describe("a client that leaves still gets what it had sent run", () => {
  it("calls queued behind a busy one run after the client left, then onDisconnected; the shutdown waits for them", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const [a] = kit.servers;
    const c = await kit.connect();
    const id = c.connectionId!;
    block();
    void c.invoke("Busy", "running").catch(() => {});
    await expect.poll(() => runs.length).toBe(1);
    for (let i = 0; i < 3; i++) await c.send("Note", `queued ${i}`);
    const shutdown = a!.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 5_000 });
    await c.stop();
    await expect.poll(() => a!.connectionCount).toBe(0);
    expect(runs.map((r) => r.what)).toEqual(["busy running"]); // still behind the busy call
    release();
    const report = await shutdown;
    expect(runs.map((r) => r.what)).toEqual(["busy running", "note queued 0", "note queued 1", "note queued 2", `disconnected ${id}`]);
    expect(report).toMatchObject({ clientsAtStart: 1, closedByClients: 1, dropped: 0, timedOut: false });
  });
});

describe("reports add up", () => {
  it("each client is counted once: closed + migrated + dropped = clients at the start", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 1 });
    const [a] = kit.servers;
    const clients = await Promise.all(Array.from({ length: 8 }, () => kit.connect()));
    // Every client busy in a call when it leaves: its onDisconnected must not wait for the call.
    block();
    for (const [i, c] of clients.entries()) void c.invoke("Busy", `c${i}`).catch(() => {});
    await expect.poll(() => runs.length).toBe(8);
    const shutdown = a!.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 1_000 });
    await Promise.all(clients.slice(0, 5).map((c) => c.stop()));
    const report = await shutdown;
    expect(report.closedByClients + report.migrated + report.dropped).toBe(report.clientsAtStart);
    expect(report).toMatchObject({ clientsAtStart: 8, closedByClients: 5, dropped: 3, timedOut: true });
  });

  it("a server whose clients all left finishes at once, even with calls still running", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 1 });
    const [a] = kit.servers;
    const clients = await Promise.all(Array.from({ length: 4 }, () => kit.connect()));
    block();
    for (const c of clients) void c.invoke("Busy", "x").catch(() => {});
    await expect.poll(() => runs.length).toBe(4);
    const shutdown = a!.shutdown({ mode: GracefulShutdownMode.WaitForClientsClose, timeoutMs: 10_000 });
    await Promise.all(clients.map((c) => c.stop()));
    const report = await shutdown;
    expect(report).toMatchObject({ clientsAtStart: 4, closedByClients: 4, migrated: 0, dropped: 0, timedOut: false });
    expect(report.durationMs).toBeLessThan(2_000);
    // onDisconnected ran for each, while their calls were still blocked.
    expect(runs.filter((r) => r.what.startsWith("disconnected"))).toHaveLength(4);
  });
});
