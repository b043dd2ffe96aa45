// MiniLoadBalancer in front of real self-hosted ASP.NET Core SignalR servers: every transport
// passes through it (WebSocket upgrades tunnelled, SSE and long polls streamed), requests of a
// connection reach the server that negotiated it, and a cut TCP connection is what a network
// drop looks like to both sides.
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MiniLoadBalancer } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { DotnetClient, type DotnetTransport } from "../dotnet/dotnet-client.js";
import { describeDotnet } from "../dotnet/dotnet.js";

const PROJECT = process.env.ASPNET_PROJECT ?? "ChatServer";

describeDotnet("MiniLoadBalancer in front of real ASP.NET Core servers", () => {
  let servers: AspNetServer[] = [];
  let lb: MiniLoadBalancer;
  const clients: HubConnection[] = [];
  const dotnetClients: DotnetClient[] = [];

  beforeAll(async () => {
    servers = await Promise.all([AspNetServer.start({ project: PROJECT }), AspNetServer.start({ project: PROJECT })]);
    lb = await MiniLoadBalancer.start({ servers: () => servers });
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(dotnetClients.map((c) => c.close()));
    await lb?.stop();
    await Promise.all(servers.map((s) => s.kill()));
  });

  const jsClient = (transport: HttpTransportType, configure: (b: HubConnectionBuilder) => HubConnectionBuilder = (b) => b) => {
    const c = configure(new HubConnectionBuilder().withUrl(lb.url("chat"), transport).configureLogging(LogLevel.None)).build();
    clients.push(c);
    return c;
  };

  for (const transport of [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling]) {
    it(`carries a JS client over ${HttpTransportType[transport]}, each connection pinned to its server`, async () => {
      const conns = [jsClient(transport), jsClient(transport), jsClient(transport), jsClient(transport)];
      await Promise.all(conns.map((c) => c.start()));
      for (const c of conns) expect(await c.invoke("Echo", { n: 1, s: "x" })).toEqual({ n: 1, s: "x" });
      const ids = await Promise.all(conns.map((c) => c.invoke("WhoAmI") as Promise<string>));
      expect(new Set(ids).size).toBe(2); // round robin spread them over both servers
      await Promise.all(conns.map((c) => c.stop()));
    });
  }

  for (const transport of ["WebSockets", "ServerSentEvents", "LongPolling"] as DotnetTransport[]) {
    it(`carries the .NET client over ${transport}: invokes, streams both ways, client results`, async () => {
      const c = await DotnetClient.launch({ url: lb.url("chat"), transport, protocol: transport === "ServerSentEvents" ? "json" : "messagepack" });
      dotnetClients.push(c);
      await c.handle("Ask", 1, { result: { answer: 42 } });
      await c.start();
      expect(await c.invoke("Echo", [1, "two", { three: 3.5 }])).toEqual([1, "two", { three: 3.5 }]);
      expect(await c.stream("Counter", 3)).toEqual([0, 1, 2]);
      expect(await c.upload("Sum", [1, 2, 3, 4])).toBe(10);
      expect(await c.invoke("AskCaller", "life?")).toEqual({ answer: 42 });
      expect(c.invocations("Ask")).toEqual([["life?"]]);
      await c.stop();
      expect(c.warnings).toEqual([]);
    });
  }
});
