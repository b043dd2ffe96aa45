// Every outbound call from the moment the app makes it until it settles: the buffer while no
// connection is usable, the calls in flight, their re-sends, their time limits. One object, so
// that "accepted" has one meaning: a call settles once, with the hub's answer or a named error.
//
// Sends travel as invocations (the completion is the receipt), each preceded by a fire-and-forget
// DELIVERY_METHOD(clientId, n, w) so the server can run it at most once and in order (see
// docs/client.md, "Delivery"). Invokes travel as they are.
import { DELIVERY_METHOD } from "../protocol/conventions";
import { BufferFullError, CallTimeoutError, InvocationInterruptedError, MessageTooLargeError, toError, type InterruptReason } from "./errors";
import type { HubLike } from "./hub-like";

export interface Call {
  readonly seq: number;
  readonly method: string;
  readonly args: readonly unknown[];
  /** A send(): carried with a delivery number, always safe to re-send. */
  readonly send: boolean;
  readonly retryable: boolean;
  /** Epoch-ms deadline (Infinity = none). */
  readonly deadline: number;
  readonly timeoutMs: number;
  /** An onResume ctx call: bound to one connection, never buffered, never carried over to the next. */
  readonly ctx: HubLike | undefined;
  /** Delivery number (sends), 0 until first handed to a connection. */
  n: number;
  attempts: number;
  interruptions: number;
  /** Connection generation of the latest attempt. */
  gen: number;
  /** A re-send after the server changed: later calls wait until it settles. */
  barrier: boolean;
  /** Why it was last interrupted (for the `retry` event). */
  lastReason?: InterruptReason;
  settled: boolean;
  graceTimer?: ReturnType<typeof setTimeout>;
  /** The caller's promise; settle it only through Outbox.done/fail (once, `settled` guards). */
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
}

export interface OutboxOptions {
  limit: number;
  maxInterruptions: number;
  migrationGraceMs: number;
  maxMessageBytes: number;
  deliveryIds: boolean;
  clientId: string;
  /** A re-send was handed to a connection. */
  onRetry(call: Call, reason: InterruptReason): void;
  /** A send, or an invoke never handed to a connection, failed without the hub's answer (buffer full, timeout, interruption, stop). */
  onUndelivered(call: Call, error: Error): void;
}

const noop = () => {};

export class Outbox {
  private queue: Call[] = [];
  private readonly flight = new Set<Call>();
  /** The live connection (undefined when there is none) and whether app calls may go to it now. */
  private hub: HubLike | undefined;
  private usable = false;
  /**
   * Draining: sends wait for the next connection while invokes (onExit's work) still go to the old
   * one. A server leaving with WaitForClientsClose may drop its links as soon as its last client is
   * gone, while a send's hub call (its broadcast) still runs there (the real Azure SDK does).
   */
  private sendsHeld = false;
  private gen = 0;
  private barriers = 0;
  private seq = 0;
  private nextN = 0;
  /** Every delivery number up to this one is settled (sent with each marker: the server need not wait for them). */
  private settledUpTo = 0;
  /** Settled delivery numbers above settledUpTo (they settle out of order). */
  private readonly settledAbove = new Set<number>();
  private idleWaiters: Array<() => void> = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(private readonly o: OutboxOptions) {}

  get clientId(): string { return this.o.clientId; }
  /** Calls waiting for a connection. */
  get length(): number { return this.queue.length; }
  /** Calls handed to a connection and not settled. */
  get inFlight(): number { return this.flight.size; }

  /**
   * A new call. Refused at once (never sent) when over `maxMessageBytes`; handed to the connection
   * when one is usable and nothing waits ahead of it; else buffered (bounded).
   */
  add(method: string, args: unknown[], send: boolean, retryable: boolean, timeoutMs: number, ctx?: { hub: HubLike; gen: number }): Promise<unknown> {
    const bytes = messageBytes(method, args, this.o.maxMessageBytes);
    if (bytes > this.o.maxMessageBytes) return Promise.reject(new MessageTooLargeError(method, bytes, this.o.maxMessageBytes));
    let resolve!: (v: unknown) => void, reject!: (e: Error) => void;
    const promise = new Promise<unknown>((a, b) => { resolve = a; reject = b; });
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    const c: Call = {
      seq: ++this.seq, method, args, send, retryable, deadline, timeoutMs, ctx: ctx?.hub,
      n: 0, attempts: 0, interruptions: 0, gen: -1, barrier: false, settled: false, resolve, reject,
    };
    if (deadline < this.timerAt) this.arm(deadline);
    if (ctx) {
      if (ctx.gen !== this.gen || this.hub !== ctx.hub) return this.refuse(c, new InvocationInterruptedError(method, "dropped", 0));
      this.dispatch(c, ctx.hub, ctx.gen);
    } else if (this.usable && this.barriers === 0 && (this.sendsHeld ? !send : this.queue.length === 0)) this.dispatch(c, this.hub!, this.gen);
    else if (this.queue.length >= this.o.limit) return this.refuse(c, new BufferFullError(method, this.o.limit));
    else this.queue.push(c);
    return promise;
  }

  /** A connection (generation `gen`) is up; app calls still wait until open(). onResume ctx calls may use it. */
  connected(hub: HubLike, gen: number): void {
    this.hub = hub;
    this.gen = gen;
    this.usable = false;
    this.sendsHeld = false;
  }

  /** App calls may go to the live connection. Re-sends go first; fresh calls wait until they settle. Returns how many were handed over. */
  open(): number {
    this.usable = this.hub !== undefined;
    return this.pump();
  }

  /** A drain began: sends wait for the next connection, invokes still go to this one (until connected()). */
  holdSends(): void {
    this.sendsHeld = true;
  }

  /** App calls wait (a resume runs); those in flight stay in flight. */
  hold(): void {
    this.usable = false;
  }

  /** The connection of generation `gen` is gone: its calls in flight are re-queued (retryable) or rejected. */
  interrupted(gen: number, reason: InterruptReason): void {
    if (gen === this.gen) {
      this.hub = undefined;
      this.usable = false;
    }
    for (const c of [...this.flight]) if (c.gen === gen) this.interrupt(c, reason);
  }

  /** The service moved the connection: completions the old server had not written are lost. */
  migrated(gen: number): void {
    for (const c of [...this.flight]) {
      if (c.gen !== gen || c.settled) continue;
      if (c.retryable && c.interruptions < this.o.maxInterruptions) {
        c.interruptions++;
        this.markBarrier(c);
        this.dispatch(c, c.ctx ?? this.hub!, gen, "migrated");
      } else if (c.retryable || c.ctx) {
        this.fail(c, new InvocationInterruptedError(c.method, "migrated", c.attempts));
      } else if (c.graceTimer === undefined) {
        // A call sent just after the move completes normally: give it migrationGraceMs.
        c.graceTimer = setTimeout(() => this.fail(c, new InvocationInterruptedError(c.method, "migrated", c.attempts)), this.o.migrationGraceMs);
      }
    }
  }

  /** Resolves once nothing is in flight. */
  whenIdle(): Promise<void> {
    return this.flight.size === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Settles every call with `error` (stop, give-up). */
  rejectAll(error: Error): void {
    // Closed (and the deadline timer reset) before the rejections: a caller's listener may call
    // again meanwhile, and that call must find a buffer with a live deadline, not a dead connection.
    this.hub = undefined;
    this.usable = false;
    this.sendsHeld = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    const all = [...this.queue, ...this.flight];
    this.queue = [];
    for (const c of all) this.fail(c, error);
  }

  // ---- internals ------------------------------------------------------------------------

  /** Hands waiting calls over in order; a fresh call waits while re-sends after a server change are unsettled. */
  private pump(): number {
    let n = 0;
    while (this.usable && this.queue.length > 0) {
      const c = this.queue[0]!;
      if ((c.attempts === 0 && this.barriers > 0) || (c.send && this.sendsHeld)) break;
      this.queue.shift();
      if (c.settled) continue;
      if (c.attempts > 0) this.markBarrier(c);
      this.dispatch(c, this.hub!, this.gen, c.attempts > 0 ? "resend" : undefined);
      n++;
    }
    return n;
  }

  private markBarrier(c: Call): void {
    if (c.barrier) return;
    c.barrier = true;
    this.barriers++;
  }

  private dispatch(c: Call, hub: HubLike, gen: number, retry?: "migrated" | "resend"): void {
    const attempt = ++c.attempts;
    c.gen = gen;
    this.flight.add(c);
    if (c.send && this.o.deliveryIds) {
      if (c.n === 0) c.n = ++this.nextN;
      hub.send(DELIVERY_METHOD, this.o.clientId, c.n, this.settledUpTo).catch(noop);
    }
    let p: Promise<unknown>;
    try { p = hub.invoke(c.method, ...c.args); } catch (e) { p = Promise.reject(e); }
    if (retry) this.o.onRetry(c, retry === "migrated" ? "migrated" : c.lastReason ?? "dropped");
    p.then(
      (v) => this.done(c, v),
      (e: unknown) => {
        if (c.settled || attempt !== c.attempts) return; // a newer attempt is the one that counts
        const lost = c.gen !== this.gen || hub.state !== "Connected" || this.hub !== hub;
        if (!lost) return this.fail(c, toError(e), false); // the hub answered with an error
        if (this.flight.has(c) && c.gen === gen) this.interrupt(c, "dropped"); // the close callbacks normally ran first
      },
    );
  }

  /** Delivery number `n` settled: moves the watermark past every settled number in a row (O(1) amortised). */
  private settledN(n: number): void {
    this.settledAbove.add(n);
    while (this.settledAbove.delete(this.settledUpTo + 1)) this.settledUpTo++;
  }

  private interrupt(c: Call, reason: InterruptReason): void {
    this.leave(c);
    if (c.settled) return;
    c.interruptions++;
    c.lastReason = reason;
    if (c.ctx || !c.retryable || c.interruptions > this.o.maxInterruptions) {
      this.fail(c, new InvocationInterruptedError(c.method, reason, c.attempts));
      return;
    }
    // Back into the buffer in call order, ignoring the bound (it was accepted already).
    let i = 0;
    while (i < this.queue.length && this.queue[i]!.seq < c.seq) i++;
    this.queue.splice(i, 0, c);
  }

  private done(c: Call, value: unknown): void {
    if (c.settled) return;
    this.leave(c);
    c.settled = true;
    if (c.n > 0) this.settledN(c.n);
    c.resolve(value);
  }

  private fail(c: Call, error: Error, undelivered = true): void {
    if (c.settled) return;
    this.leave(c);
    const i = this.queue.indexOf(c);
    if (i >= 0) this.queue.splice(i, 1);
    c.settled = true;
    if (c.n > 0) this.settledN(c.n);
    c.reject(error);
    // Reported for sends (often not awaited) and for invokes that never reached a connection.
    if (undelivered && (c.send || c.attempts === 0)) this.o.onUndelivered(c, error);
  }

  private refuse(c: Call, error: Error): Promise<unknown> {
    c.settled = true;
    this.o.onUndelivered(c, error);
    return Promise.reject(error);
  }

  /** Out of the flight set (settled or interrupted); releases what waited on it. */
  private leave(c: Call): void {
    if (c.graceTimer !== undefined) { clearTimeout(c.graceTimer); c.graceTimer = undefined; }
    if (c.barrier) {
      c.barrier = false;
      if (--this.barriers === 0) queueMicrotask(() => this.pump());
    }
    if (!this.flight.delete(c) || this.flight.size > 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** One timer for every deadline: armed for the earliest, sweeping the expired when it fires. */
  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, at - Date.now()));
    // Left armed when calls settle (re-arming per call costs more than a spare wake-up); never the
    // reason a Node process stays alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private sweep(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const c of [...this.queue, ...this.flight]) {
      if (c.settled) continue;
      if (c.deadline <= now) this.fail(c, new CallTimeoutError(c.method, c.timeoutMs));
      else if (c.deadline < next) next = c.deadline;
    }
    if (next < Infinity) this.arm(next);
  }
}

/**
 * The size of the JSON Invocation record this call becomes (ASP.NET Core counts the whole message
 * against MaximumReceiveMessageSize). Counted in UTF-8 only when it could be near the limit.
 */
export function messageBytes(method: string, args: readonly unknown[], limit: number): number {
  // Fast path, no serialisation: numbers, booleans, null and short strings cannot reach the limit
  // (a string's JSON is at most 6 bytes a character: \u escapes).
  let bound = method.length * 3 + 60;
  for (const a of args) {
    if (typeof a === "string") bound += a.length * 6 + 3;
    else if (typeof a === "number" || typeof a === "boolean" || a === null || a === undefined) bound += 24;
    else { bound = Infinity; break; }
  }
  if (bound <= limit) return 0;
  let json: string;
  try {
    json = JSON.stringify(args) ?? "";
  } catch {
    return 0; // not JSON-serialisable (a cycle): the HubConnection reports that itself
  }
  const overhead = 60; // {"type":1,"invocationId":"…","target":"","arguments":}␞
  const n = json.length + method.length + overhead;
  if (n * 3 <= limit) return n; // even at 3 bytes a character it fits
  const enc = new TextEncoder();
  return enc.encode(json).length + enc.encode(method).length + overhead;
}
