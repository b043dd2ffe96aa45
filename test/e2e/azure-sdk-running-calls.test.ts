// ChatServer's RunningCalls.cs against the real server SDK (Microsoft.Azure.SignalR 1.34.0) on the
// kit's MiniService: the SDK's graceful shutdown (MigrateClients here) does not wait for hub calls
// still running, and the process used to exit with them cut short, a crash mid-call to their
// senders. RunningCalls keeps the process alive until they finish: a call held in the store while
// its server shuts down still completes there, and the process then exits cleanly. Real
// @microsoft/signalr client, two real .NET processes.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MiniService } from "../../src/service/mini-service.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { ChatServerProcess, ChatStoreServer } from "./azure-sdk-fixture.js";

describeDotnet("a server shutting down waits for the hub calls it runs (RunningCalls.cs)", () => {
  let service: MiniService;
  let store: ChatStoreServer;
  const servers: ChatServerProcess[] = [];

  beforeAll(async () => {
    [service, store] = await Promise.all([MiniService.start(), ChatStoreServer.start()]);
  }, 60_000);

  afterAll(async () => {
    store.gate = undefined;
    await Promise.all(servers.map((s) => s.kill()));
    await store?.stop();
    await service?.stop();
  }, 30_000);

  it("a call still running when the server SDK's MigrateClients shutdown ends finishes before the process exits", async () => {
    const connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    const start = async (serverId: string) => {
      const s = await ChatServerProcess.start({ serverId, connectionString, mode: "MigrateClients", storeUrl: store.url, env: { TRACE_SENDS: "1" } });
      servers.push(s);
      return s;
    };
    const a = await start("cs-a");
    const hub = new HubConnectionBuilder().withUrl(`http://127.0.0.1:${a.port}/chat`).configureLogging(LogLevel.None).build();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    store.gate = (m) => (m.clientMsgId === "h#1" ? held : Promise.resolve());
    try {
      await hub.start(); // on A, the only server yet
      await start("cs-b"); // where the client moves
      const call = hub.invoke("SendMessage", "h#1", "h", 1, "held");
      call.catch(() => {}); // its completion is lost with the move; what counts is the store
      await a.waitForEvent((e) => e.what === "send" && e.details.clientMsgId === "h#1", "h#1 running on A");
      const exited = a.stop();
      // The SDK's shutdown is over (the client moved); the process waits for the call.
      await a.waitForLine((l) => /Waiting for 1 running hub call\(s\) before exiting/.test(l), "A waiting for its running call");
      expect(store.has("h", 1)).toBe(false);
      release();
      expect(await exited).toBe(0);
      expect(store.messages.filter((m) => m.clientMsgId === "h#1").map((m) => m.serverId)).toEqual(["cs-a"]);
      expect(a.lines.some((l) => /Exiting with \d+ hub call/.test(l))).toBe(false);
    } finally {
      release();
      store.gate = undefined;
      await hub.stop();
    }
  }, 60_000);
});
