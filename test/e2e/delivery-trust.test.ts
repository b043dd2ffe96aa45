// A delivery marker is the client's word. Another authenticated user who learns a client's id and
// sends a marker naming it (with a huge watermark, to have that client's sends skipped as copies)
// touches only their own records: the ledger keeps each user's senders apart. Real
// @microsoft/signalr clients over real sockets, the kit's MiniServer with a DeliveryLedger.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { DeliveryLedger, Hub } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

it("a marker naming another user's client id cannot make that client's sends be skipped", async () => {
  const runs: string[] = [];
  const ledger = new DeliveryLedger({ orderWaitMs: 2_000 });
  class Relay extends Hub {
    post(text: string) {
      runs.push(`${this.context.userId}: ${text}`);
    }
  }
  const k = (kit = await startKit({ hubs: { relay: Relay }, servers: 1, serverOptions: { deliveries: ledger } }));
  const url = (user: string) => `${k.servers[0]!.url("relay")}?user=${user}`;
  const alice = new GracefulConnection(new HubConnectionBuilder().withUrl(url("alice")).configureLogging(LogLevel.None).build(), { logger: { log: () => {} } });
  const mallory = new HubConnectionBuilder().withUrl(url("mallory")).configureLogging(LogLevel.None).build();
  try {
    await alice.start();
    await mallory.start();
    await alice.send("Post", "one");
    // Mallory's own client speaks the marker convention by hand, naming Alice's client id.
    await mallory.send("GracefulDelivery", alice.clientId, 1_000_000, 999_999);
    await mallory.invoke("Post", "forged");
    const started = Date.now();
    await alice.send("Post", "two");
    expect(runs).toEqual(["alice: one", "mallory: forged", "alice: two"]);
    expect(ledger.stats).toEqual({ ran: 3, duplicates: 0, orderTimeouts: 0 });
    expect(Date.now() - started).toBeLessThan(2_000); // no order wait on a gap Mallory opened
  } finally {
    await alice.stop();
    await mallory.stop();
  }
}, 20_000);

it("a connection's markers name one sender, its first marker's: a marker naming another is ignored", async () => {
  const runs: string[] = [];
  const ledger = new DeliveryLedger({ orderWaitMs: 2_000 });
  class Relay extends Hub {
    post(text: string) {
      runs.push(text);
    }
  }
  const k = (kit = await startKit({ hubs: { relay: Relay }, servers: 1, serverOptions: { deliveries: ledger } }));
  const raw = new HubConnectionBuilder().withUrl(k.servers[0]!.url("relay")).configureLogging(LogLevel.None).build();
  try {
    await raw.start();
    await raw.send("GracefulDelivery", "first", 1, 0);
    await raw.invoke("Post", "one");
    await raw.send("GracefulDelivery", "second", 1, 0); // a new sender per marker would grow the ledger
    await raw.invoke("Post", "two"); // runs unmarked
    await raw.send("GracefulDelivery", "first", 1, 0);
    await raw.invoke("Post", "one again"); // still the first sender's: a copy
    expect(runs).toEqual(["one", "two"]);
    expect(ledger.stats).toEqual({ ran: 1, duplicates: 1, orderTimeouts: 0 });
  } finally {
    await raw.stop();
  }
}, 20_000);
