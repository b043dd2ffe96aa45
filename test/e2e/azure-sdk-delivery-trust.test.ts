// A delivery marker is the client's word, with the real server SDK (Microsoft.Azure.SignalR 1.34.0,
// test/dotnet/ChatServer with DeliveryFilter.cs over a shared ledger) against the kit's MiniService:
// Mallory's client names Alice's client id in a hand-made marker with a huge watermark. The filter
// files each authenticated user's senders under that user, so Alice's next send still runs (and is
// not held by the order wait). Users come from ChatServer's test-only ?user= sign-in, carried through
// the service in the token as with real auth. Real @microsoft/signalr clients, one real .NET process.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniService } from "../../src/service/mini-service.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { ChatServerProcess } from "./azure-sdk-fixture.js";
import { LedgerServer } from "./ledger-server.js";

const ORDER_WAIT_MS = 4_000;

describeDotnet("delivery markers name only their own user's senders, with the real Azure SignalR server SDK", () => {
  let service: MiniService;
  let ledger: LedgerServer;
  let server: ChatServerProcess | undefined;

  beforeAll(async () => {
    service = await MiniService.start();
    ledger = await LedgerServer.start({ orderWaitMs: ORDER_WAIT_MS });
    const connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    server = await ChatServerProcess.start({ serverId: "cs-a", connectionString, env: { DELIVERY_LEDGER_URL: ledger.url, TRACE_SENDS: "1", TEST_USER_QUERY: "1" } });
  }, 60_000);

  afterAll(async () => {
    await server?.kill();
    await ledger?.stop();
    await service?.stop();
  }, 30_000);

  it("a marker naming Alice's client id, sent by Mallory, cannot make Alice's sends be skipped", async () => {
    const url = (user: string) => `http://127.0.0.1:${server!.port}/chat?user=${user}`;
    const alice = new GracefulConnection(new HubConnectionBuilder().withUrl(url("alice")).configureLogging(LogLevel.None).build(), { logger: { log: () => {} } });
    const mallory = new HubConnectionBuilder().withUrl(url("mallory")).configureLogging(LogLevel.None).build();
    try {
      await alice.start();
      await mallory.start();
      await alice.send("SendMessage", "a#1", "alice", 1, "one");
      await mallory.send("GracefulDelivery", alice.clientId, 1_000_000, 999_999);
      await mallory.invoke("SendMessage", "m#1", "mallory", 1, "forged");
      const started = Date.now();
      await alice.send("SendMessage", "a#2", "alice", 2, "two");
      const runs = server!.events.filter((e) => e.what === "send").map((e) => `${String(e.details.user)}:${String(e.details.clientMsgId)}`);
      expect(runs).toEqual(["alice:a#1", "mallory:m#1", "alice:a#2"]);
      expect(ledger.ledger.stats).toEqual({ ran: 3, duplicates: 0, orderTimeouts: 0 });
      expect(Date.now() - started).toBeLessThan(ORDER_WAIT_MS);
    } finally {
      await alice.stop();
      await mallory.stop();
    }
  }, 60_000);

  it("a connection's markers name one sender, its first marker's: a marker naming another is ignored", async () => {
    const raw = new HubConnectionBuilder().withUrl(`http://127.0.0.1:${server!.port}/chat?user=eve`).configureLogging(LogLevel.None).build();
    const before = { ...ledger.ledger.stats };
    const sends = () => server!.events.filter((e) => e.what === "send" && e.details.user === "eve").map((e) => String(e.details.clientMsgId));
    try {
      await raw.start();
      await raw.send("GracefulDelivery", "first", 1, 0);
      await raw.invoke("SendMessage", "e#1", "eve", 1, "one");
      await raw.send("GracefulDelivery", "second", 1, 0); // a new sender per marker would grow the ledger
      await raw.invoke("SendMessage", "e#2", "eve", 2, "two"); // runs unmarked
      await raw.send("GracefulDelivery", "first", 1, 0);
      await raw.invoke("SendMessage", "e#1", "eve", 1, "one again"); // still the first sender's: a copy
      expect(sends()).toEqual(["e#1", "e#2"]);
      expect(ledger.ledger.stats).toEqual({ ran: before.ran + 1, duplicates: before.duplicates + 1, orderTimeouts: before.orderTimeouts });
    } finally {
      await raw.stop();
    }
  }, 60_000);
});
