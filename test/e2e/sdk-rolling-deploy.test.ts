// The delivery guarantee end to end (issue 9): a rolling deploy — three servers, each replaced and
// shut down in turn with a drain budget shorter than the longest call — while 20 real clients send
// continuously, some calls taking up to 1.5 s. Every resolved send ran exactly once, every rejected
// one carries a named error, per-sender order holds at the hub and at every receiver, and nothing is
// pending at the end. Both modes, every supported @microsoft/signalr major.
import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { DeliveryLedger, GracefulShutdownMode, Hub } from "../../src/testing/index.js";
import { until } from "./chat-fixture.js";
import { startKit, type Kit } from "./kit.js";
import { SIGNALR_VERSIONS } from "./signalr-versions.js";

interface Run { sender: string; seq: number; serverId: string }

const N = 20;
const NAMED = new Set(["CallTimeoutError", "InvocationInterruptedError", "ConnectionStoppedError", "BufferFullError", "MessageTooLargeError"]);

function relayHub(runs: Run[]) {
  return class Relay extends Hub {
    async post(sender: string, seq: number, ms: number) {
      runs.push({ sender, seq, serverId: this.context.serverId });
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
      await this.clients.all.send("post", sender, seq);
    }
  };
}

class Sender extends EventEmitter {
  seq = 0;
  readonly resolved: number[] = [];
  readonly rejected: Array<{ seq: number; error: Error }> = [];
  /** Per sender, the seqs of its posts in the order this client received them. */
  readonly received = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private waiters: Array<{ seq: number; resolve(): void }> = [];
  /** Resolves once this sender has made `more` further sends. */
  sentMore(more: number): Promise<void> {
    const seq = this.seq + more;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }
  constructor(readonly name: string, readonly conn: GracefulConnection) {
    super();
    conn.on("post", (sender: string, seq: number) => {
      const list = this.received.get(sender) ?? [];
      list.push(seq);
      this.received.set(sender, list);
    });
  }
  start(everyMs: number): void {
    this.timer = setInterval(() => {
      const seq = ++this.seq;
      // Mostly quick calls; every 30th takes 1–1.5 s, so a backlog builds behind it on the server.
      const ms = seq % 30 === 0 ? 1_000 + Math.floor(Math.random() * 500) : Math.floor(Math.random() * 10);
      this.conn
        .send("Post", this.name, seq, ms)
        .then(() => this.resolved.push(seq), (error: Error) => this.rejected.push({ seq, error }))
        .then(() => this.emit("settled"));
      this.waiters = this.waiters.filter((w) => (w.seq <= seq ? (w.resolve(), false) : true));
    }, everyMs);
  }
  stop(): void {
    clearInterval(this.timer);
  }
  get settled(): boolean {
    return this.resolved.length + this.rejected.length === this.seq && this.conn.inFlight === 0 && this.conn.buffered === 0;
  }
}

let kit: Kit | undefined;
let senders: Sender[] = [];
afterEach(async () => {
  senders.forEach((s) => s.stop());
  await Promise.all(senders.map((s) => s.conn.stop().catch(() => {})));
  senders = [];
  await kit?.close();
  kit = undefined;
});

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1]! < x);

describe.each(SIGNALR_VERSIONS)("rolling deploy with $name", ({ HubConnectionBuilder, LogLevel }) => {
  it.each([["WaitForClientsClose", GracefulShutdownMode.WaitForClientsClose], ["MigrateClients", GracefulShutdownMode.MigrateClients]] as const)(
    "%s: every resolved send ran exactly once, in per-sender order, nothing pending",
    async (_name, mode) => {
      const runs: Run[] = [];
      const ledger = new DeliveryLedger();
      const k = (kit = await startKit({ hubs: { relay: relayHub(runs) }, servers: 3, serverOptions: { deliveries: ledger } }));
      senders = Array.from({ length: N }, (_, i) => {
        const hub = new HubConnectionBuilder().withUrl(k.balancer.url("relay")).configureLogging(LogLevel.None).build();
        return new Sender(`u${i}`, new GracefulConnection(hub, { logger: { log: () => {} }, callTimeoutMs: 20_000 }));
      });
      await Promise.all(senders.map((s) => s.conn.start()));
      senders.forEach((s) => s.start(60));
      for (let i = 0; i < 3; i++) {
        const old = k.servers[i]!;
        await k.addServer(); // the new version comes up, then the old one goes (drain budget 1 s < 1.5 s calls)
        await Promise.all(senders.map((s) => s.sentMore(30))); // a long call and its backlog are in flight everywhere
        await old.shutdown({ mode, timeoutMs: 1_000 });
      }
      senders.forEach((s) => s.stop());
      await until(() => senders.every((s) => s.settled), senders.map((s) => ({ on: s.on.bind(s), off: s.off.bind(s), name: "settled" })), 25_000, "every send settled", () =>
        senders.filter((s) => !s.settled).map((s) => `${s.name}: ${s.seq} sent, ${s.resolved.length} ok, ${s.rejected.length} rejected, ${s.conn.inFlight} in flight, ${s.conn.buffered} buffered, ${s.conn.state}`).join("; "),
      );

      const runCount = new Map<string, number>();
      for (const r of runs) runCount.set(`${r.sender}#${r.seq}`, (runCount.get(`${r.sender}#${r.seq}`) ?? 0) + 1);
      const twice = [...runCount].filter(([, n]) => n > 1).map(([k]) => k);
      const resolvedNotRun = senders.flatMap((s) => s.resolved.filter((seq) => !runCount.has(`${s.name}#${seq}`)).map((seq) => `${s.name}#${seq}`));
      const unnamed = senders.flatMap((s) => s.rejected.filter((r) => !NAMED.has(r.error.name)).map((r) => `${s.name}#${r.seq} ${r.error.name}: ${r.error.message}`));
      const hubOrder = senders.filter((s) => !increasing(runs.filter((r) => r.sender === s.name).map((r) => r.seq))).map((s) => s.name);
      const receiverOrder = senders.flatMap((r) => [...r.received].filter(([, seqs]) => !increasing(seqs)).map(([from]) => `${from}→${r.name}`));
      const total = senders.reduce((n, s) => n + s.seq, 0);
      const rejected = senders.reduce((n, s) => n + s.rejected.length, 0);
      console.log(`rolling deploy (${_name}): ${total} sends, ${total - rejected} resolved, ${rejected} rejected; ledger ${JSON.stringify(ledger.stats)}`);
      expect(twice).toEqual([]);
      expect(resolvedNotRun).toEqual([]);
      expect(unnamed).toEqual([]);
      expect(hubOrder).toEqual([]);
      expect(receiverOrder).toEqual([]);
      expect(senders.every((s) => s.conn.inFlight === 0 && s.conn.buffered === 0)).toBe(true);
    },
    60_000,
  );
});
