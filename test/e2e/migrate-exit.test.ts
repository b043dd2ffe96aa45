// MigrateClients with the exit hook of docs/csharp-hub.md: the hook runs in both modes, so
// clients being migrated hear "exit" — and on the real service it can arrive before the new
// server's hello. An exit that carries mode "MigrateClients" must not make SDK clients drain:
// they wait for their migration and carry on, same connection, no reconnect.
//
// The kit moves clients at FIN, before the hooks run; to reproduce the real service's order
// (exit first, hello after) the new server's hello here waits until the hook has broadcast.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { helloFrom } from "./chat-fixture.js";
import { GracefulShutdownMode, Hub, MiniLoadBalancer, MiniServer, MiniService } from "../../src/testing/index.js";

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

it("SDK clients migrate without draining or reconnecting when the exit (with its mode) arrives before the new server's hello", async () => {
  let exitBroadcast!: () => void;
  const exitSent = new Promise<void>((resolve) => (exitBroadcast = resolve));
  class Chat extends Hub {
    // The doc's hub sends the hello from OnConnectedAsync; this one holds a migrated
    // connection's hello back until the old server's exit is out.
    override async onConnected() {
      const from = this.context.migration?.from;
      if (from) await exitSent;
      await this.clients.caller.send("graceful.hello", { serverId: this.context.serverId, ...(from ? { migratedFrom: from } : {}) });
    }
    echo(x: unknown) {
      return x;
    }
  }
  const service = await MiniService.start();
  const common = { service, hubs: { chat: Chat }, hello: false };
  const a = await MiniServer.start({ ...common, id: "a", gracefulShutdown: { mode: GracefulShutdownMode.MigrateClients, announceExit: false, timeoutMs: 10_000 } });
  const b = await MiniServer.start({ ...common, id: "b" });
  const servers = [a, b];
  const lb = await MiniLoadBalancer.start({ servers: () => servers });
  cleanup.push(() => service.stop(), () => b.kill(), () => a.kill(), () => lb.stop());
  // The doc's hook: Clients.All.SendAsync("exit", new { serverId, mode = shutdown.Mode.ToString(), timeoutMs }).
  a.gracefulShutdown.add("chat", async (hub) => {
    await hub.clients.all.send("exit", { serverId: "a", mode: "MigrateClients", timeoutMs: 10_000 });
    exitBroadcast();
  });

  const conns = Array.from({ length: 4 }, () => new GracefulConnection(new HubConnectionBuilder().withUrl(lb.url("chat")).configureLogging(LogLevel.None).build()));
  const logs = conns.map((c) => {
    const log: string[] = [];
    c.events.on("*", (type, e) => log.push(type === "state" ? `state ${(e as { to: string }).to}` : String(type)));
    return log;
  });
  cleanup.push(async () => void (await Promise.all(conns.map((c) => c.stop()))));
  await Promise.all(conns.map((c) => c.start()));
  await Promise.all(conns.map(helloFrom));
  const onA = conns.filter((c) => c.serverId === "a");
  expect(onA.length).toBeGreaterThan(0);
  const ids = onA.map((c) => c.connectionId);
  for (const l of logs) l.length = 0;
  const migrated = Promise.all(onA.map((c) => new Promise((resolve) => c.events.on("migrated", resolve))));

  const report = await a.shutdown();
  await migrated;
  expect(report.migrated).toBe(onA.length);
  expect(report.dropped).toBe(0);
  for (const [i, c] of conns.entries()) {
    if (!onA.includes(c)) {
      expect(logs[i]).toEqual(["exitIgnored"]); // another server's exit
      continue;
    }
    // The exit came first, then the migration: no draining, no reconnect, same connection.
    expect(logs[i]!.filter((e) => e !== "server")).toEqual(["exit", "migrated", "resumed"]);
    expect(c.connectionId).toBe(ids[onA.indexOf(c)]);
    expect(c.serverId).toBe("b");
    expect(c.state).toBe("Connected");
    expect(await c.invoke("Echo", 7)).toBe(7);
  }
});
