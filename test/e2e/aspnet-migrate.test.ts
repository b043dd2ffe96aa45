// docs/csharp-hub.md's code (test/dotnet/DocSample: GracefulHub, the GracefulExit hook, MigrateClients)
// on the real Azure SignalR server SDK, against the kit's service: when an app server is stopped
// (SIGTERM), its GracefulConnection clients are migrated without draining or reconnecting — even
// though the hook's exit reaches them too — and their chat goes on, same connection.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { hostname } from "node:os";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { helloFrom } from "./chat-fixture.js";
import { MiniLoadBalancer, MiniService } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { describeDotnet } from "../dotnet/dotnet.js";

describeDotnet("MigrateClients with the doc's C# on the real server SDK", () => {
  let service: MiniService;
  let lb: MiniLoadBalancer;
  const servers: AspNetServer[] = [];
  const conns: GracefulConnection[] = [];

  beforeAll(async () => {
    service = await MiniService.start();
    const env = { Azure__SignalR__ConnectionString: `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;` };
    const start = () => AspNetServer.start({ project: "DocSample", env, readyLine: /Hub 'Chat' is now connected/ });
    servers.push(...(await Promise.all([start(), start()])));
    lb = await MiniLoadBalancer.start({ servers: () => servers });
  }, 90_000);
  afterAll(async () => {
    await Promise.all(conns.map((c) => c.stop()));
    await lb?.stop();
    await Promise.all(servers.map((s) => s.kill()));
    await service?.stop();
  });

  it("clients of the stopped server move to the other one: no drain, no reconnect, same connection", async () => {
    const logs: string[][] = [];
    for (let i = 0; i < 4; i++) {
      const conn = new GracefulConnection(new HubConnectionBuilder().withUrl(lb.url("chat")).configureLogging(LogLevel.None).build());
      const log: string[] = [];
      conn.events.on("*", (type, e) => log.push(type === "state" ? `state ${(e as { to: string }).to}` : String(type)));
      conns.push(conn);
      logs.push(log);
    }
    await Promise.all(conns.map((c) => c.start()));
    await Promise.all(conns.map(helloFrom));
    // The service, not the balancer, places connections: stop a server that has some.
    const on = (s: AspNetServer) => conns.filter((c) => c.serverId === `${hostname()}-${s.pid}`);
    const [a, b] = (on(servers[0]!).length > 0 ? servers : [...servers].reverse()) as [AspNetServer, AspNetServer];
    const onA = on(a);
    expect(onA.length).toBeGreaterThan(0); // the hello named the server (the SDK asked with ?graceful=1)
    const ids = onA.map((c) => c.connectionId);
    for (const l of logs) l.length = 0;
    const migrated = Promise.all(onA.map((c) => new Promise((resolve) => c.events.on("migrated", resolve))));

    expect(await a.terminate(30_000)).toBe(0);
    await migrated;
    const bId = `${hostname()}-${b.pid}`;
    for (const [i, c] of conns.entries()) {
      const log = logs[i]!.filter((e) => e !== "server" && e !== "exitIgnored");
      if (!onA.includes(c)) {
        expect(log).toEqual([]);
        continue;
      }
      // The exit (mode MigrateClients) may come before or after the new server's hello; either way no drain.
      expect(log.filter((e) => e !== "exit")).toEqual(["migrated", "resumed"]);
      expect(c.connectionId).toBe(ids[onA.indexOf(c)]);
      expect(c.serverId).toBe(bId);
      expect(c.state).toBe("Connected");
    }
    // The chat goes on: a broadcast reaches everyone.
    const all = Promise.all(conns.map((c) => new Promise<void>((resolve) => c.on("message", (_user: string, text: string) => void (text === "after" && resolve())))));
    await onA[0]!.send("SendMessage", "ann", "after");
    await all;
  }, 60_000);
});
