// The one split a migration can make in the delivery guarantee: the service moves a client right
// after a send's GracefulDelivery marker reached the old server and before the send itself, which
// reaches the new server unmarked. The old server hands its pending marker over through the
// shared ledger and the new server runs the unmarked send under it, so the SDK's re-send (same
// delivery id) is a copy and the next send runs after it, without waiting for orderWaitMs.
// Made deterministic with MiniService.migrateAfterDeliveryMarker; real @microsoft/signalr client
// in GracefulConnection, real sockets.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterEach, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { DeliveryLedger, GracefulShutdownMode, Hub } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";

interface Run { seq: number; serverId: string }

const ORDER_WAIT_MS = 3_000;

let kit: Kit | undefined;
let conn: GracefulConnection | undefined;
afterEach(async () => {
  await conn?.stop().catch(() => {});
  conn = undefined;
  await kit?.close();
  kit = undefined;
});

function relayHub(runs: Run[]) {
  return class Relay extends Hub {
    post(seq: number) {
      runs.push({ seq, serverId: this.context.serverId });
    }
  };
}

it.each(["json", "messagepack"] as const)(
  "a migration between a marker and its send (%s): the send runs once, on the new server, and the next one runs after it without the order wait",
  async (protocol) => {
    const runs: Run[] = [];
    const ledger = new DeliveryLedger({ orderWaitMs: ORDER_WAIT_MS });
    const k = (kit = await startKit({ hubs: { relay: relayHub(runs) }, servers: 2, serverOptions: { deliveries: ledger } }));
    let b = new HubConnectionBuilder().withUrl(k.servers[0]!.url("relay")).configureLogging(LogLevel.None);
    if (protocol === "messagepack") b = b.withHubProtocol(new MessagePackHubProtocol());
    const c = (conn = new GracefulConnection(b.build(), { logger: { log: () => {} }, callTimeoutMs: 10_000 }));
    const migrated = new Promise<void>((resolve) => c.events.on("migrated", () => resolve()));
    await c.start();
    const [client] = k.service.connections();
    expect(client!.serverId).toBe("server-a");

    const moved = k.service.migrateAfterDeliveryMarker(client!.connectionId);
    const started = Date.now();
    const first = c.send("Post", 1);
    const second = c.send("Post", 2);
    expect(await moved).toEqual({ from: "server-a", to: "server-b" });
    await Promise.all([first, second, migrated]);
    const elapsed = Date.now() - started;

    // A third send reaches B after the SDK's re-sends of the first two (same connection, in order),
    // and runs after them: once it resolved, every copy has been run or skipped.
    await c.send("Post", 3);
    expect(runs).toEqual([1, 2, 3].map((seq) => ({ seq, serverId: "server-b" })));
    expect(ledger.stats).toEqual({ ran: 3, duplicates: 2, orderTimeouts: 0 });
    expect(elapsed).toBeLessThan(ORDER_WAIT_MS);
    expect(ledger.handoverStats).toEqual({ recorded: 1, carried: 1, timeouts: 0 });
  },
  20_000,
);

it("an ordinary migration costs nothing more: the old server records none, a first marked send takes nothing, a first unmarked call finds the record at once", async () => {
  const runs: Run[] = [];
  const ledger = new DeliveryLedger({ orderWaitMs: ORDER_WAIT_MS });
  const k = (kit = await startKit({ hubs: { relay: relayHub(runs) }, servers: 1, serverOptions: { deliveries: ledger } }));
  const hub = () => new HubConnectionBuilder().withUrl(k.servers[0]!.url("relay")).configureLogging(LogLevel.None).build();
  const marked = (conn = new GracefulConnection(hub(), { logger: { log: () => {} } }));
  const plain = hub();
  await marked.start();
  await plain.start(); // both on server-a, the only one yet
  await k.addServer();
  const migrated = new Promise<void>((resolve) => marked.events.on("migrated", () => resolve()));
  await k.servers[0]!.shutdown({ mode: GracefulShutdownMode.MigrateClients, timeoutMs: 5_000 });
  await migrated;
  try {
    const started = Date.now();
    await marked.send("Post", 1); // its first invocation on the new server carries its marker
    await plain.invoke("Post", 2); // no marker: it looks for the handover, which says none
    expect(Date.now() - started).toBeLessThan(ORDER_WAIT_MS); // the take's bound: it did not wait
    expect(runs.map((r) => r.seq)).toEqual([1, 2]);
    expect(ledger.handoverStats).toEqual({ recorded: 2, carried: 0, timeouts: 0 });
  } finally {
    await plain.stop();
  }
}, 20_000);
