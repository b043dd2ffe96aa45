// The delivery split with the real server SDK (Microsoft.Azure.SignalR 1.34.0, test/dotnet/ChatServer
// with DeliveryFilter.cs over a shared ledger) against the kit's MiniService: the service moves the
// client right after a send's GracefulDelivery marker reached server A, so the send itself reaches B
// unmarked. A's filter hands the marker over in OnDisconnectedAsync (IConnectionMigrationFeature),
// B's runs the send under it: once, and the next send after it without the order wait. Real
// @microsoft/signalr client in GracefulConnection, two real .NET processes.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterAll, beforeAll, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniService } from "../../src/service/mini-service.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { ChatServerProcess } from "./azure-sdk-fixture.js";
import { helloFrom } from "./chat-fixture.js";
import { LedgerServer } from "./ledger-server.js";

const ORDER_WAIT_MS = 4_000;

describeDotnet("the delivery split with the real Azure SignalR server SDK", () => {
  let service: MiniService;
  let ledger: LedgerServer;
  const servers: ChatServerProcess[] = [];
  let conn: GracefulConnection | undefined;

  const startServer = async (serverId: string) => {
    const connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    const s = await ChatServerProcess.start({ serverId, connectionString, mode: "MigrateClients", env: { DELIVERY_LEDGER_URL: ledger.url, TRACE_SENDS: "1" } });
    servers.push(s);
    return s;
  };

  beforeAll(async () => {
    service = await MiniService.start();
    ledger = await LedgerServer.start({ orderWaitMs: ORDER_WAIT_MS });
  }, 60_000);

  afterAll(async () => {
    await conn?.stop().catch(() => {});
    await Promise.all(servers.map((s) => s.kill()));
    await ledger?.stop();
    await service?.stop();
  }, 30_000);

  it("a migration between a marker and its send: the send runs once, on the new server, and the next one runs right after it", async () => {
    const a = await startServer("cs-a");
    const hub = new HubConnectionBuilder().withUrl(`http://127.0.0.1:${a.port}/chat`).configureLogging(LogLevel.None).build();
    const c = (conn = new GracefulConnection(hub, { logger: { log: () => {} }, callTimeoutMs: 20_000 }));
    await c.start();
    expect(await helloFrom(c)).toBe("cs-a");
    const b = await startServer("cs-b"); // only now: the client is on A, B is where it moves
    const migrated = new Promise<void>((resolve) => c.events.on("migrated", () => resolve()));

    const moved = service.migrateAfterDeliveryMarker(hub.connectionId!);
    const started = Date.now();
    const first = c.send("SendMessage", "u#1", "u", 1, "one");
    const second = c.send("SendMessage", "u#2", "u", 2, "two");
    expect(await moved).toEqual({ from: "cs-a", to: "cs-b" });
    await Promise.all([first, second, migrated]);
    const elapsed = Date.now() - started;

    // A third send reaches B after the SDK's re-sends of the first two (same connection, in order),
    // and runs after them: once it resolved, every copy has been run or skipped.
    await c.send("SendMessage", "u#3", "u", 3, "three");

    const runs = (s: ChatServerProcess) => s.events.filter((e) => e.what === "send").map((e) => `${s.id}:${String(e.details.clientMsgId)}`);
    expect([...runs(a), ...runs(b)]).toEqual(["cs-b:u#1", "cs-b:u#2", "cs-b:u#3"]);
    expect(ledger.ledger.stats).toEqual({ ran: 3, duplicates: 2, orderTimeouts: 0 });
    expect(elapsed).toBeLessThan(ORDER_WAIT_MS);
    expect(ledger.ledger.handoverStats).toEqual({ recorded: 1, carried: 1, timeouts: 0 });

    // Leaving B normally is no migration: SDK 1.34.0 clears the migration feature (no MigrateTo left
    // from the arrival), so the filter writes no handover record.
    await c.stop();
    const left = await b.waitForEvent((e) => e.what === "disconnected", "the client's OnDisconnectedAsync on B");
    expect(left.details.migrateTo).toBeNull();
    expect(ledger.ledger.handoverStats.recorded).toBe(1);
  }, 90_000);
});
