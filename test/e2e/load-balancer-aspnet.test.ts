// MiniLoadBalancer in front of real self-hosted ASP.NET Core SignalR servers: every transport
// passes through it (WebSocket upgrades tunnelled, SSE and long polls streamed), requests of a
// connection reach the server that negotiated it, and a cut TCP connection is what a network
// drop looks like to both sides.
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniLoadBalancer } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { DotnetClient, type DotnetTransport } from "../dotnet/dotnet-client.js";
import { describeDotnet } from "../dotnet/dotnet.js";


describeDotnet("MiniLoadBalancer in front of real ASP.NET Core servers", () => {
  let servers: AspNetServer[] = [];
  let lb: MiniLoadBalancer;
  const clients: HubConnection[] = [];
  const dotnetClients: DotnetClient[] = [];

  beforeAll(async () => {
    servers = await Promise.all([AspNetServer.start({ project: "ChatServer" }), AspNetServer.start({ project: "ChatServer" })]);
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
      const c = await DotnetClient.launch({ url: lb.url("chat"), transport });
      dotnetClients.push(c);
      await c.handle("Ask", 1, { result: { answer: 42 } });
      await c.start();
      expect(await c.invoke("Echo", [1, "two", { three: 3.5 }])).toEqual([1, "two", { three: 3.5 }]);
      expect(await c.stream("Counter", 3)).toEqual([0, 1, 2]);
      expect(await c.upload("Sum", [1, 2, 3, 4])).toBe(10);
      expect(await c.invoke("AskCaller", "life?")).toEqual({ answer: 42 });
      expect(c.invocations("Ask")).toEqual([["life?"]]);
      // Checked before stop(): over long polling the .NET client sometimes warns that its DELETE got a
      // 404 (the server already ended the connection), with or without a balancer in between.
      expect(c.warnings).toEqual([]);
      await c.stop();
    });
  }

  it("carries the .NET client's MessagePack (binary frames) through the WebSocket tunnel", async () => {
    const c = await DotnetClient.launch({ url: lb.url("chat"), transport: "WebSockets", protocol: "messagepack" });
    dotnetClients.push(c);
    await c.handle("Ask", 1, { result: [1, 2, { three: 3 }] });
    await c.start();
    expect(await c.stream("Counter", 300)).toHaveLength(300);
    expect(await c.upload("Sum", Array.from({ length: 100 }, (_, i) => i))).toBe(4950);
    expect(await c.invoke("AskCaller", "list?")).toEqual([1, 2, { three: 3 }]);
    expect(c.warnings).toEqual([]);
    await c.stop();
  });

  it("a cut TCP connection under stateful reconnect costs no SDK-level reconnect and no message", async () => {
    const hub = jsClient(HttpTransportType.WebSockets, (b) => b.withStatefulReconnect());
    const conn = new GracefulConnection(hub);
    const events: string[] = [];
    conn.events.on("*", (type) => events.push(String(type)));
    const received: string[] = [];
    let allReceived!: () => void;
    const everything = new Promise<void>((resolve) => (allReceived = resolve));
    conn.on("message", (m: { clientMsgId: string }) => {
      received.push(m.clientMsgId);
      if (received.length === 40) allReceived();
    });
    await conn.start();
    const connectionId = conn.connectionId!;
    const server = await conn.invoke("WhoAmI");
    events.length = 0;

    const ids = Array.from({ length: 40 }, (_, i) => `m${i}`);
    const accepted: Promise<void>[] = [];
    for (const [i, id] of ids.entries()) {
      if (i === 10) expect(lb.cutConnections(connectionId)).toBe(1); // mid-stream: some sends and echoes are in flight
      accepted.push(conn.send("SendMessage", id, "ann", i + 1, "hi"));
      if (i % 5 === 4) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(accepted);
    await everything;
    expect(received).toEqual(ids); // each once, in order
    expect(conn.connectionId).toBe(connectionId);
    expect(lb.openConnections(connectionId)).toBe(1); // a new WebSocket, same connection, through the balancer
    expect(await conn.invoke("WhoAmI")).toBe(server);
    expect(events).toEqual([]); // no state change, no reconnect, nothing undelivered
    expect(conn.state).toBe("Connected");
    await conn.stop();
  });

  it("the .NET client with stateful reconnect rides out a cut the same way", async () => {
    const c = await DotnetClient.launch({ url: lb.url("chat"), stateful: true });
    dotnetClients.push(c);
    const connectionId = await c.start();
    expect(await c.invoke("Echo", "before")).toBe("before");
    expect(lb.cutConnections(connectionId)).toBe(1);
    const during = c.invoke("Echo", "during"); // written while the socket is gone or coming back: replayed
    expect(await during).toBe("during");
    expect(lb.openConnections(connectionId)).toBe(1);
    // No close, no reconnect (the transport may log the failed write as an error: the drop was real).
    expect(c.lines.filter((l) => l.type === "closed" || l.type === "reconnecting")).toEqual([]);
    await c.stop();
  });

  it("without stateful reconnect the same cut is an SDK-level reconnect (the test can fail)", async () => {
    const hub = jsClient(HttpTransportType.WebSockets);
    const conn = new GracefulConnection(hub, { reconnectPolicy: { nextRetryDelayInMilliseconds: () => 0 } });
    await conn.start();
    const reconnected = new Promise((resolve) => conn.events.on("resumed", resolve));
    expect(lb.cutConnections(conn.connectionId)).toBe(1);
    await reconnected;
    expect(conn.state).toBe("Connected");
    await conn.stop();
  });
});
