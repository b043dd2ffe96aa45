// The server side of the SDK's delivery ids: each send() is preceded by a fire-and-forget
// DELIVERY_METHOD(clientId, n, w). The ledger runs the invocation that follows at most once per
// (clientId, n), and not before every number in (w, n) is done, so a re-send after an
// interruption is not a second message and a sender's order holds across servers (a backlog on
// an old server finishes before the new server runs what came after it).
//
// The ledger stands for shared storage (the app's database or cache): give every server the same
// one. In-memory here; the C# equivalent is a hub filter over a distributed store (docs/csharp-hub.md).
//
// A migration can fall between a marker and its message: the marker reaches the old server, the
// message the new one, unmarked. So the old server hands the marker it still held over (a
// handover record per connection id, "none" included) and the new server's first unmarked
// invocation takes it, waiting briefly for it: then that invocation runs under its delivery id.

export interface DeliveryLedgerOptions {
  /** How long a delivery waits for earlier ones (or for its own earlier attempt) before it runs anyway. Default 5 000. */
  orderWaitMs?: number;
  /** Bound on the senders remembered (oldest forgotten first), and on handover records kept. Default 10 000. */
  maxSenders?: number;
  /**
   * How long a migrated connection's new server waits for its old server's handover record
   * (takeHandover). Default: orderWaitMs. The old server writes it once it has read what the
   * connection sent it — within milliseconds, or once its running calls free a slot for the
   * ones still queued — so the full wait is paid only when the old server died first.
   */
  handoverWaitMs?: number;
  /** How long a handover record nobody takes is kept. Default 60 000. */
  handoverTtlMs?: number;
}

/** One delivery id, as read from the marker. */
export interface DeliveryId {
  /** The sender: the marker's client id, scoped to the authenticated user when there is one (see senderKey). */
  clientId: string;
  n: number;
  w: number;
}

interface Sender {
  /** Every number ≤ floor is settled at the client: a late copy of one is skipped. */
  floor: number;
  done: Set<number>;
  running: Map<number, Promise<unknown>>;
  waiters: Array<() => void>;
}

export type DeliveryOutcome<T> = { duplicate: true } | { duplicate: false; result: T };

interface Handover {
  pending: DeliveryId | undefined;
  expiresAt: number;
}

/** What the SDK sends as a client id (its own are base-36): no separator of senderKey's. */
const CLIENT_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The ledger's sender for a marker's client id. A marker is the client's word, so an
 * authenticated user's ids live under that user: a marker naming someone else's client id (to
 * raise its floor and have its sends skipped as copies) touches only the sender's own records.
 * Length-prefixed, so no user id and client id pair reads as another; an anonymous client's id
 * (no ':' allowed) never reads as a scoped one.
 */
export const senderKey = (clientId: string, userId?: string): string =>
  userId === undefined ? clientId : `${userId.length}:${userId}/${clientId}`;

/**
 * Reads a marker's arguments, the sender scoped to `userId` (the connection's authenticated user,
 * if any); undefined when malformed (the caller logs it).
 */
export function parseDeliveryId(args: readonly unknown[], userId?: string): DeliveryId | undefined {
  const [clientId, n, w] = args;
  if (typeof clientId !== "string" || !CLIENT_ID.test(clientId) || !Number.isSafeInteger(n) || !Number.isSafeInteger(w)) return undefined;
  if ((n as number) < 1 || (w as number) < 0 || (w as number) >= (n as number)) return undefined;
  return { clientId: senderKey(clientId, userId), n: n as number, w: w as number };
}

export class DeliveryLedger {
  private readonly senders = new Map<string, Sender>();
  /** Handover records by connection id, oldest first (a constant TTL keeps them in expiry order). */
  private readonly handovers = new Map<string, Handover>();
  private readonly handoverWaiters = new Map<string, Set<() => void>>();
  private readonly orderWaitMs: number;
  private readonly maxSenders: number;
  private readonly handoverWaitMs: number;
  private readonly handoverTtlMs: number;
  /** Deliveries skipped as copies, and those that ran without their predecessors after orderWaitMs. */
  readonly stats = { ran: 0, duplicates: 0, orderTimeouts: 0 };
  /** Handover records written, taken with a marker in them, and takes that found none in time. */
  readonly handoverStats = { recorded: 0, carried: 0, timeouts: 0 };

  constructor(o: DeliveryLedgerOptions = {}) {
    this.orderWaitMs = o.orderWaitMs ?? 5_000;
    this.maxSenders = o.maxSenders ?? 10_000;
    this.handoverWaitMs = o.handoverWaitMs ?? this.orderWaitMs;
    this.handoverTtlMs = o.handoverTtlMs ?? 60_000;
    if (!(this.orderWaitMs >= 0) || !(this.maxSenders >= 1)) throw new RangeError("DeliveryLedger: orderWaitMs ≥ 0 and maxSenders ≥ 1.");
    if (!(this.handoverWaitMs >= 0) || !(this.handoverTtlMs > 0)) throw new RangeError("DeliveryLedger: handoverWaitMs ≥ 0 and handoverTtlMs > 0.");
  }

  /**
   * The old server of a connection that migrated away: the marker it had read and not yet
   * applied (`undefined`: none). Written once the old server has read everything the connection
   * sent it, so "none" is final. A later record for the same connection replaces it.
   */
  handOver(connectionId: string, pending: DeliveryId | undefined): void {
    const now = Date.now();
    for (const [id, h] of this.handovers) {
      if (h.expiresAt > now && this.handovers.size < this.maxSenders) break;
      this.handovers.delete(id);
    }
    this.handovers.delete(connectionId); // re-inserted last: the map stays in expiry order
    this.handovers.set(connectionId, { pending, expiresAt: now + this.handoverTtlMs });
    this.handoverStats.recorded++;
    const waiters = this.handoverWaiters.get(connectionId);
    this.handoverWaiters.delete(connectionId);
    waiters?.forEach((wake) => wake());
  }

  /**
   * The new server of a migrated connection, at its first invocation that came without a marker:
   * the marker the old server held for it, if any. Waits at most handoverWaitMs for the record
   * (the old server may still be reading); takes it, so it is used once. `undefined` when the
   * record says none, or none came in time (the old server died: the invocation runs unmarked).
   */
  async takeHandover(connectionId: string): Promise<DeliveryId | undefined> {
    const deadline = Date.now() + this.handoverWaitMs;
    for (;;) {
      const h = this.handovers.get(connectionId);
      if (h && h.expiresAt > Date.now()) {
        this.handovers.delete(connectionId);
        if (h.pending) this.handoverStats.carried++;
        return h.pending;
      }
      if (Date.now() >= deadline) {
        this.handoverStats.timeouts++;
        return undefined;
      }
      await this.handoverWritten(connectionId, deadline);
    }
  }

  private handoverWritten(connectionId: string, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.handoverWaiters.get(connectionId);
      if (!waiters) this.handoverWaiters.set(connectionId, (waiters = new Set()));
      const wake = () => {
        clearTimeout(t);
        waiters.delete(wake);
        if (waiters.size === 0 && this.handoverWaiters.get(connectionId) === waiters) this.handoverWaiters.delete(connectionId);
        resolve();
      };
      const t = setTimeout(wake, Math.max(0, deadline - Date.now()));
      waiters.add(wake);
    });
  }

  /** Runs `fn` for delivery `id` unless it already ran (or runs) somewhere; waits for earlier ones first. */
  async run<T>(id: DeliveryId, fn: () => Promise<T> | T): Promise<DeliveryOutcome<T>> {
    const s = this.sender(id.clientId);
    if (id.w > s.floor) this.raiseFloor(s, id.w);
    const deadline = Date.now() + this.orderWaitMs;
    // Its own earlier attempt is running (e.g. on the old server, its completion lost): wait for it.
    while (s.running.has(id.n) && Date.now() < deadline) await this.changed(s, deadline);
    if (this.isDuplicate(s, id.n)) return this.duplicate();
    let waited = false;
    while (!this.predecessorsDone(s, id.n)) {
      if (Date.now() >= deadline) {
        this.stats.orderTimeouts++;
        break;
      }
      waited = true;
      await this.changed(s, deadline);
    }
    if (waited && this.isDuplicate(s, id.n)) return this.duplicate();
    if (s.running.has(id.n)) return this.duplicate(); // still running elsewhere after the wait: never twice
    const p = (async () => fn())();
    s.running.set(id.n, p);
    try {
      const result = await p;
      return { duplicate: false, result };
    } finally {
      s.running.delete(id.n);
      s.done.add(id.n);
      this.stats.ran++;
      this.notify(s);
    }
  }

  private duplicate(): { duplicate: true } {
    this.stats.duplicates++;
    return { duplicate: true };
  }

  private isDuplicate(s: Sender, n: number): boolean {
    return n <= s.floor || s.done.has(n) || s.running.has(n);
  }

  private predecessorsDone(s: Sender, n: number): boolean {
    if (n - s.floor > 10_000) return true; // a gap this wide is not a backlog: don't scan it
    for (let m = s.floor + 1; m < n; m++) if (!s.done.has(m)) return false;
    return true;
  }

  private sender(clientId: string): Sender {
    let s = this.senders.get(clientId);
    if (s) return s;
    s = { floor: 0, done: new Set(), running: new Map(), waiters: [] };
    this.senders.set(clientId, s);
    if (this.senders.size > this.maxSenders) this.senders.delete(this.senders.keys().next().value!);
    return s;
  }

  private raiseFloor(s: Sender, w: number): void {
    s.floor = w;
    for (const n of s.done) if (n <= w) s.done.delete(n);
    this.notify(s);
  }

  private changed(s: Sender, deadline: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, Math.max(0, deadline - Date.now()));
      function done() {
        clearTimeout(t);
        resolve();
      }
      s.waiters.push(done);
    });
  }

  private notify(s: Sender): void {
    const w = s.waiters;
    s.waiters = [];
    for (const f of w) f();
  }
}
