// GracefulConnection: wraps a @microsoft/signalr HubConnection so that a server-requested exit,
// a migration or a dropped connection costs the app no messages and no server-side state.
//
// The class orchestrates. Its state is one phase, changed only by go() through the table in
// transitions.ts (the public state, "is the connection up", "does a resume run" are read off it).
// Outbound calls live in the Outbox (buffer, in flight, re-sends, time limits), timers in a
// TimerSet; docs/architecture.md lists where each behaviour lives. Every async flow (start, drain,
// reconnect loop, resume) gets the AbortSignal of its own flow: whatever supersedes it (stop, a
// drop, a later exit) starts a new flow, which aborts the old one's signal; the flow checks
// `signal.aborted` where it resumes after an await.
import mitt, { type Emitter } from "mitt";
import type { LogLevel } from "@microsoft/signalr";
import { parseHello, type ExitPayload } from "../protocol/conventions";
import { ConnectionStoppedError, InvalidStateError, describe, toError, type InterruptReason, type StopReason } from "./errors";
import type { GracefulEvents, ReconnectReason, ResumeReason } from "./events";
import type { Handoff, HandoffHost } from "./handoff";
import { assertHubLike, type HubLike } from "./hub-like";
import { Level } from "./logger";
import { resolveOptions, type GracefulConnectionOptions, type ResolvedOptions } from "./options";
import { drain, drainBudget, type ExitHandler } from "./drain";
import { decideExit, readExit } from "./exit-decision";
import { HubWiring, markGraceful, type HubMethodHandler } from "./hub-wiring";
import { Servers } from "./servers";
import { Outbox } from "./outbox";
import { reconnectLoop } from "./reconnect-loop";
import { runResumeHandlers, type ResumeContext, type ResumeHandler } from "./resume";
import type { ConnectionState } from "./state";
import { next, RESUMING, STATE, UP, type Phase, type TransitionEvent } from "./transitions";
import { TimerSet, type Timer } from "./timer-set";
import { DEV, code } from "./text";

export type { HubMethodHandler };

/** `send`/`invoke` with their own time limit: `conn.withTimeout(5_000).invoke("Slow")`. */
export interface TimedCalls {
  send(methodName: string, ...args: unknown[]): Promise<void>;
  invoke<T = unknown>(methodName: string, ...args: unknown[]): Promise<T>;
}

/** A TypeError for a method name that is not a non-empty string. */
function badMethod(m: unknown): TypeError | undefined {
  if (typeof m !== "string" || m === "") return new TypeError(DEV ? "methodName must be a non-empty string." : code(8, m));
  return undefined;
}

/**
 * 128 random bits (Web Crypto, in browsers and Node alike): with anonymous users the server tells
 * senders apart by this id alone, so it must not be guessable (Math.random is not that).
 */
function randomClientId(): string {
  return Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(36)).join("");
}

function preview(v: unknown): string {
  try { return JSON.stringify(v)?.slice(0, 200) ?? String(v); } catch { return String(v); }
}

export class GracefulConnection {
  /** Typed lifecycle events (mitt). Listeners that throw are caught, logged and reported as `error`. */
  readonly events: Emitter<GracefulEvents> = mitt<GracefulEvents>();

  /** The current connection: the one app calls go to. Replaced only by an `overlap` handoff. */
  private hub: HubLike;
  /** The `overlap` option's make-before-break handoff (its own entry point), if the app passed one. */
  private readonly handoff: Handoff | undefined;
  private readonly opts: ResolvedOptions;
  private readonly outbox: Outbox;
  private readonly timers = new TimerSet();
  private readonly exitHandlers: ExitHandler[] = [];
  private readonly resumeHandlers: ResumeHandler[] = [];
  /** Our handlers and callbacks on each connection, and the app's handlers (hub-wiring.ts). */
  private readonly wiring: HubWiring;
  /** The server we are on, the ones we left, the last migration (servers.ts). */
  private readonly servers = new Servers();

  /** The one state variable (transitions.ts): the public state and the connection's facts are read off it. */
  private phase: Phase = "idle";
  private lastConnectionId: string | undefined;
  /** The running async flow; newFlow() aborts it. */
  private flow = new AbortController();
  /** Generation of the underlying connection, bumped each time it comes up. */
  private gen = 0;
  /** Why the last run ended; undefined until the first start(). */
  private lastStop: StopReason | undefined;
  private unusableSince = 0;
  /** An exit for MigrateClients: the time we wait for our migration before draining instead. */
  private migrationWait: Timer | undefined;
  /** The reconnect loop's current delay, cut short by retryNow(). */
  private retryDelay: Timer | undefined;
  /** An exit or a migration that arrived while a resume ran: acted upon once it completes (an exit wins). */
  private deferred: ExitPayload | "migrated" | undefined;
  private startWaiter: { resolve(): void; reject(e: Error): void } | undefined;
  private stopPromise: Promise<void> | undefined;
  private reportingError = false;

  constructor(hub: HubLike, options?: GracefulConnectionOptions) {
    assertHubLike(hub);
    this.hub = hub;
    this.opts = resolveOptions(options);
    const o = this.opts;
    this.outbox = new Outbox({
      limit: o.maxBufferedMessages, maxInterruptions: o.maxInterruptions, migrationGraceMs: o.migrationGraceMs,
      maxMessageBytes: o.maxMessageBytes, deliveryIds: o.deliveryIds,
      clientId: randomClientId(),
      onRetry: (c, reason) => this.emit("retry", { method: c.method, reason, attempt: c.attempts }),
      onUndelivered: (c, error) => {
        this.log(Level.Warning, 2, `${c.method} ${describe(error)}`);
        this.emit("undelivered", { method: c.method, kind: c.send ? "send" : "invoke", error });
      },
    });
    this.wiring = new HubWiring({
      exitMethod: o.exitMethod,
      isAccepted: (h) => h === this.hub || h === this.handoff?.incoming,
      isCurrent: (h) => h === this.hub,
      gotHello: this.onHelloMessage,
      gotExit: this.onExitMessage,
      gotClose: (e, refused) => this.onHubClose(e, refused),
      gotReconnecting: (e) => this.onHubReconnecting(e),
      gotReconnected: (id) => this.onHubReconnected(id),
      liveHubs: () => (this.handoff ? [this.hub, ...this.handoff.others()] : [this.hub]),
    });
    this.handoff = this.opts.overlap?.(this.handoffHost());
    this.wiring.attach(hub);
    if ((hub as unknown as { _reconnectPolicy?: unknown })._reconnectPolicy) {
      this.log(Level.Information, 1);
    }
  }

  // ---- public surface -------------------------------------------------------------------

  get state(): ConnectionState { return STATE[this.phase]; }
  /** The underlying connection is connected and ours (false from the moment it closes or we close it). */
  private get up(): boolean { return UP.has(this.phase); }
  /** The underlying connection id, while a connection exists. */
  get connectionId(): string | undefined { return this.hub.connectionId ?? undefined; }
  /** The app server serving this connection, from the hello convention; undefined until it arrives. */
  get serverId(): string | undefined { return this.servers.current; }
  /** This client's id in delivery markers (random per GracefulConnection; servers de-duplicate by it). */
  get clientId(): string { return this.outbox.clientId; }
  /** Number of app calls waiting in the outbound buffer. */
  get buffered(): number { return this.outbox.length; }
  /** Number of calls handed to a connection and not yet settled. */
  get inFlight(): number { return this.outbox.inFlight; }

  /** Starts the connection. Resolves once connected and resumed (onResume ran, buffer flushed). */
  start(): Promise<void> {
    if (this.phase !== "idle") {
      return Promise.reject(new InvalidStateError(DEV ? `start() while ${this.state}.` : code(6, this.state), this.state));
    }
    const signal = this.newFlow();
    this.unusableSince = Date.now();
    const ready = new Promise<void>((resolve, reject) => { this.startWaiter = { resolve, reject }; });
    this.go("start");
    if (!signal.aborted) void this.connectFirst(signal);
    return ready;
  }

  /**
   * Stops for good from any phase: timers cancelled, buffered messages and in-flight invocations
   * rejected with ConnectionStoppedError, the HubConnection stopped, `closed` emitted.
   */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    if (this.phase === "idle") return Promise.resolve();
    // The promise exists before stopInternal() runs: a listener it notifies may call stop() again.
    let stopped!: () => void;
    const p = (this.stopPromise = new Promise<void>((resolve) => { stopped = resolve; }));
    const end = () => {
      if (this.stopPromise === p) this.stopPromise = undefined;
      stopped();
    };
    this.stopInternal().then(end, end);
    return p;
  }

  /**
   * Delivers a message: resolves once a hub ran it (its completion is the receipt), rejects with a
   * named error when it cannot be delivered. Buffered while no connection is usable; re-sent after an
   * interruption with its delivery id, so the server runs it once; per-sender order holds.
   */
  send(methodName: string, ...args: unknown[]): Promise<void> {
    return this.call(methodName, args, true, this.opts.callTimeoutMs) as Promise<void>;
  }

  /** Like HubConnection.invoke. Buffered while no connection is usable; see retryableMethods for interruptions. */
  invoke<T = unknown>(methodName: string, ...args: unknown[]): Promise<T> {
    return this.call(methodName, args, false, this.opts.callTimeoutMs) as Promise<T>;
  }

  /** `send`/`invoke` with their own time limit instead of `callTimeoutMs` (Infinity = none). */
  withTimeout(timeoutMs: number): TimedCalls {
    if (typeof timeoutMs !== "number" || !(timeoutMs >= 0)) throw new RangeError(DEV ? `withTimeout needs a number of ms ≥ 0 (got ${String(timeoutMs)}).` : code(10, timeoutMs));
    return {
      send: (m, ...a) => this.call(m, a, true, timeoutMs) as Promise<void>,
      invoke: <T>(m: string, ...a: unknown[]) => this.call(m, a, false, timeoutMs) as Promise<T>,
    };
  }

  /** While waiting between reconnect attempts: try now (e.g. a server was just added). true if a wait was cut short. */
  retryNow(): boolean {
    const t = this.retryDelay;
    if (!t) return false;
    this.retryDelay = undefined;
    t.fire();
    return true;
  }

  /** Like HubConnection.on; the handler survives every reconnect. A throwing handler is reported as `error`. */
  on(methodName: string, handler: HubMethodHandler): void {
    const bad = badMethod(methodName);
    if (bad) throw bad;
    if (typeof handler !== "function") throw new TypeError(DEV ? "handler must be a function." : code(9, "on"));
    this.wiring.on(methodName, handler, (h) => {
      const wrapped: HubMethodHandler = (...args) => {
        if (this.handoff?.drops(methodName, args, wrapped)) return undefined;
        try {
          return h(...args);
        } catch (e) {
          this.report("handler", e, methodName);
          throw e;
        }
      };
      return wrapped;
    });
  }

  /** Like HubConnection.off: one handler, or all of the app's handlers for the method. */
  off(methodName: string, handler?: HubMethodHandler): void {
    this.wiring.off(methodName, handler);
  }

  /** App work to finish before a server-requested close (run in registration order, each awaited). Returns an unsubscribe function. */
  onExit(handler: ExitHandler): () => void {
    return this.register(this.exitHandlers, handler, "onExit");
  }

  /** Re-creates server-side state on every new connection (including the first) and after a migration. Returns an unsubscribe function. */
  onResume(handler: ResumeHandler): () => void {
    return this.register(this.resumeHandlers, handler, "onResume");
  }

  // ---- the connections ------------------------------------------------------------------

  /** What a handoff may do with this connection (handoff.ts): a few steps, nothing else. */
  private handoffHost(): HandoffHost {
    const self = this;
    return {
      get hub() { return self.hub; },
      attach: (hub) => this.wiring.attach(hub),
      detach: (hub) => this.wiring.detach(hub),
      stop: (hub) => this.stopQuietly(hub),
      adopt: (hub) => {
        this.hub = hub;
        this.connectionUp();
      },
      emit: (type, payload) => this.emit(type, payload),
      report: (source, e, detail) => this.report(source, e, detail),
      warn: (m) => this.log(Level.Warning, 24, m),
      resume: (signal, prev) => this.resume(signal, "exit", prev, true),
      reconnect: (signal, error, prev) => this.reconnectLoop(signal, "exit", error, prev),
    };
  }

  // ---- lifecycle flows ------------------------------------------------------------------

  private async connectFirst(signal: AbortSignal): Promise<void> {
    try {
      await this.hub.start();
    } catch (e) {
      if (signal.aborted) return;
      const error = toError(e);
      if (this.opts.retryInitialStart) {
        this.log(Level.Warning, 3, describe(error));
        await this.reconnectLoop(signal, "start", error, undefined);
        return;
      }
      this.log(Level.Warning, 4, describe(error));
      this.finish("startFailed", error);
      return;
    }
    if (signal.aborted) return;
    this.connectionUp();
    await this.resume(signal, "start", undefined);
  }

  private async stopInternal(): Promise<void> {
    this.supersede();
    this.lastStop = "stop";
    this.go("stop");
    const error = new ConnectionStoppedError("stop");
    this.rejectEverything(error);
    const other = this.handoff?.abandon(); // mid-handoff: the second connection goes too
    await Promise.all([this.hub, ...(other ? [other] : [])].map((hub) => this.stopQuietly(hub)));
    if (other) this.wiring.detach(other);
    this.go("stopped");
    this.emit("closed", { reason: "stop" });
  }

  /** Terminal end without stop(): the first start failed, or the reconnect policy gave up. */
  private finish(reason: StopReason, error: Error | undefined): void {
    this.supersede();
    this.lastStop = reason;
    const stopped = new ConnectionStoppedError(reason, error);
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    this.rejectEverything(stopped);
    // A listener of a rejected call may have called stop(): then that stop ends the run (and says so).
    if (this.phase !== "stopping") {
      this.go("failed");
      this.outbox.rejectAll(stopped); // calls such a listener made before the state said Disconnected
      this.emit("closed", error ? { reason, error } : { reason });
    }
    waiter?.reject(reason === "startFailed" && error ? error : stopped);
  }

  /** Starts a new flow, aborting the one running: its awaits find their signal aborted. */
  private newFlow(): AbortSignal {
    this.flow.abort();
    this.flow = new AbortController();
    return this.flow.signal;
  }

  /** Ends every running flow and timer; the caller decides what comes next. */
  private supersede(): void {
    this.newFlow();
    this.timers.cancelAll();
    this.forgetConnection();
  }

  /** What belonged to the connection that just went away: its exit, its resume, its server. */
  private forgetConnection(): void {
    this.deferred = undefined;
    this.migrationWait?.clear();
    this.migrationWait = undefined;
    this.servers.forget();
  }

  private rejectEverything(error: ConnectionStoppedError): void {
    this.outbox.rejectAll(error);
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter?.reject(error);
  }

  /** A connection came up (any path): the resume comes next. */
  private connectionUp(): void {
    this.gen++;
    this.lastConnectionId = this.connectionId;
    this.outbox.connected(this.hub, this.gen);
    this.go("up");
  }

  /**
   * The usable connection is gone (dropped, or we closed it for an exit): in-flight invocations are
   * interrupted. A listener of a call it rejects may stop() us, which aborts `flow` (take the new
   * flow before calling): false then, and the caller goes no further.
   */
  private connectionDown(reason: InterruptReason, flow: AbortSignal): boolean {
    this.forgetConnection();
    this.unusableSince = Date.now();
    this.outbox.interrupted(this.gen, reason);
    return !flow.aborted;
  }

  /** Reconnects by the policy (reconnect-loop.ts), then resumes; gives up into Disconnected. */
  private async reconnectLoop(signal: AbortSignal, reason: ReconnectReason, error: Error | undefined, previousConnectionId: string | undefined): Promise<void> {
    const outcome = await reconnectLoop({
      policy: this.opts.reconnectPolicy,
      onAttempt: (attempt, delayMs, e) => {
        this.go("retry");
        this.emit("reconnecting", e ? { reason, attempt, delayMs, error: e, source: "graceful" } : { reason, attempt, delayMs, source: "graceful" });
      },
      onFailure: (attempt, e) => this.log(Level.Information, 5, `#${attempt} ${describe(e)}`),
      onPolicyError: (e) => this.report("reconnectPolicy", e),
      wait: async (ms) => {
        const t = (this.retryDelay = this.timers.timer(ms));
        const waited = await t.fired;
        if (this.retryDelay === t) this.retryDelay = undefined;
        return waited;
      },
      connect: () => {
        markGraceful(this.hub);
        return this.hub.start();
      },
    }, signal, error, `Reconnecting (${reason}).`);
    if (!outcome) return;
    if (!outcome.connected) {
      this.log(Level.Warning, 6, `${outcome.retries}`);
      this.finish(reason === "start" ? "startFailed" : "retriesExhausted", outcome.error);
      return;
    }
    this.connectionUp();
    this.emit("reconnected", { reason, connectionId: this.connectionId, attempt: outcome.attempt, source: "graceful" });
    if (signal.aborted) return;
    await this.resume(signal, reason, previousConnectionId);
  }

  /** onResume handlers (capped by resumeTimeoutMs), then the buffer in order, then Connected + `resumed`. */
  private async resume(signal: AbortSignal, reason: ResumeReason, previousConnectionId: string | undefined, handoff = false): Promise<void> {
    const gen = this.gen;
    const alive = () => !signal.aborted && gen === this.gen && this.up;
    const connectionId = this.connectionId;
    const on = { hub: this.hub, gen };
    const self = this;
    this.outbox.hold();
    const ctx: ResumeContext = {
      reason,
      connectionId,
      get serverId() { return self.servers.current; },
      previousConnectionId,
      invoke: <T>(m: string, ...a: unknown[]) => this.call(m, a, false, this.opts.callTimeoutMs, on) as Promise<T>,
      send: (m: string, ...a: unknown[]) => this.call(m, a, true, this.opts.callTimeoutMs, on) as Promise<void>,
    };
    const finished = await runResumeHandlers([...this.resumeHandlers], ctx, this.opts.resumeTimeoutMs, (ms) => this.timers.timer(ms), alive, (e) => this.report("onResume", e));
    if (!finished && alive()) {
      this.log(Level.Warning, 7, `${this.opts.resumeTimeoutMs}`);
    }
    if (!alive()) return;
    const flushed = this.outbox.open();
    if (!alive()) return; // the connection died under the flush: what it held waits for the next resume
    this.go("resumed");
    if (!alive()) return;
    this.emit("resumed", handoff
      ? { reason, connectionId, serverId: this.servers.current, flushed, gapMs: 0, handoff: true }
      : { reason, connectionId, serverId: this.servers.current, flushed, gapMs: Date.now() - this.unusableSince });
    const waiter = this.startWaiter;
    this.startWaiter = undefined;
    waiter?.resolve();
    if (!alive()) return;
    // Signals that arrived while resuming.
    const deferred = this.deferred;
    this.deferred = undefined;
    if (deferred === "migrated") this.startMigrationResume();
    else if (deferred) this.considerExit(deferred);
  }

  // ---- exit (WaitForClientsClose) -------------------------------------------------------

  private readonly onExitMessage = (...args: unknown[]): void => {
    const { payload, warn } = readExit(args[0]);
    if (warn) this.log(Level.Warning, warn, preview(args[0]));
    if (payload) this.considerExit(payload);
  };

  /** Acts on decideExit's answer (exit-decision.ts). */
  private considerExit(p: ExitPayload): void {
    const ours = this.servers.current;
    const d = decideExit(p, { state: this.state, serverId: ours, hasLeft: (id) => this.servers.hasLeft(id), up: this.up, resuming: RESUMING.has(this.phase) });
    if (d === "drain") void this.drain(p);
    else if (d === "awaitMigration") this.awaitMigration(p);
    else if (d === "defer") this.deferred = p;
    else if (d === "noConnection") this.log(Level.Debug, 11, this.state);
    else if (d !== "none") {
      this.log(Level.Information, 10, `${d} ${p.serverId} ${ours}`);
      this.emit("exitIgnored", { serverId: p.serverId, currentServerId: ours, reason: d });
    }
  }

  /**
   * An exit sent during a MigrateClients shutdown: the service is about to move this connection, so
   * nothing needs draining. Wait (bounded) for the migration; if none comes, drain after all. A drop
   * meanwhile is an ordinary drop.
   */
  private awaitMigration(p: ExitPayload): void {
    if (this.migrationWait) return;
    this.emit("exit", { ...p });
    const wait = Math.min(this.opts.migrationWaitMs, p.timeoutMs ?? Infinity);
    const t = (this.migrationWait = this.timers.timer(wait));
    void t.fired.then((fired) => {
      if (this.migrationWait !== t) return;
      this.migrationWait = undefined;
      if (!fired || (this.phase !== "connected" && this.phase !== "migrating")) return;
      this.log(Level.Warning, 12, `${wait}`);
      if (this.phase === "migrating") this.deferred = { ...p, mode: "WaitForClientsClose" };
      else void this.drain(p, true);
    });
  }

  private async drain(p: ExitPayload, announced = false): Promise<void> {
    const signal = this.newFlow();
    const budget = drainBudget(this.opts.drainTimeoutMs, p.timeoutMs);
    this.go("exit");
    this.outbox.holdSends();
    if (!announced) this.emit("exit", { ...p });
    this.emit("draining", { deadlineMs: budget });
    if (signal.aborted) return;
    const finished = await drain({
      handlers: [...this.exitHandlers],
      payload: p,
      budgetMs: budget,
      whenIdle: () => this.outbox.whenIdle(), // the old server is still serving them
      timer: (ms) => this.timers.timer(ms),
      onHandlerError: (e) => this.report("onExit", e),
    }, signal);
    if (finished === undefined) return;
    if (!finished) this.log(Level.Warning, 13, `${budget}`);
    const previousConnectionId = this.lastConnectionId;
    this.servers.leave();
    if (!this.connectionDown("exit", signal)) return;
    this.go("drained");
    if (this.handoff) return this.handoff.run(signal, previousConnectionId);
    await this.stopQuietly(this.hub);
    if (signal.aborted) return;
    await this.reconnectLoop(signal, "exit", undefined, previousConnectionId);
  }

  // ---- hello / migration ----------------------------------------------------------------

  private readonly onHelloMessage = (...args: unknown[]): void => {
    const hello = parseHello(args[0]);
    if (!hello) {
      this.log(Level.Warning, 14, preview(args[0]));
      return;
    }
    const news = this.servers.hello(hello);
    if (news.server) this.emit("server", news.server);
    const m = news.migration;
    if (!m) return;
    if (m === "repeat") {
      this.log(Level.Information, 15);
      return;
    }
    this.migrationWait?.clear();
    this.migrationWait = undefined;
    this.emit("migrated", { from: m.from, to: m.to, connectionId: this.connectionId });
    if (!this.up) return;
    // Completions the old server had not written yet are lost: re-send retryable calls (sends
    // included: the server de-duplicates them) now; the others get migrationGraceMs.
    this.outbox.migrated(this.gen);
    if (RESUMING.has(this.phase)) this.deferred ??= "migrated";
    else if (this.phase === "connected") this.startMigrationResume();
    // Draining: we are leaving this connection anyway.
  };

  private startMigrationResume(): void {
    const signal = this.newFlow();
    this.unusableSince = Date.now();
    this.go("migrated");
    void this.resume(signal, "migrated", this.connectionId);
  }

  // ---- the HubConnection's callbacks ----------------------------------------------------

  private onHubClose(error: Error | undefined, refused: boolean): void {
    if (this.phase === "hubReconnecting") {
      // withAutomaticReconnect gave up: our policy takes over (never two loops at once).
      this.go("hubGaveUp");
      this.log(Level.Warning, 16);
      const signal = this.newFlow();
      void this.reconnectLoop(signal, "dropped", error ?? new Error(DEV ? "withAutomaticReconnect gave up." : code(21)), this.lastConnectionId);
      return;
    }
    if (!this.up) return; // our own stop, or already handled
    const err = error ?? new Error(DEV ? "The connection was closed without an error." : code(22));
    if (refused) {
      this.log(Level.Warning, 17, describe(err));
      this.finish("serverClosed", err);
      return;
    }
    this.log(Level.Warning, 18, describe(err));
    const signal = this.newFlow();
    if (!this.connectionDown("dropped", signal)) return;
    this.go("dropped");
    void this.reconnectLoop(signal, "dropped", err, this.lastConnectionId);
  }

  private onHubReconnecting(error: Error | undefined): void {
    if (!this.up) return;
    this.log(Level.Warning, 19, describe(error));
    if (!this.connectionDown("dropped", this.newFlow())) return;
    this.go("hubDropped");
    this.emit("reconnecting", error ? { reason: "dropped", error, source: "hub" } : { reason: "dropped", source: "hub" });
  }

  private onHubReconnected(connectionId: string | undefined): void {
    if (this.phase !== "hubReconnecting") return;
    const previous = this.lastConnectionId;
    const signal = this.newFlow();
    this.connectionUp();
    this.emit("reconnected", { reason: "dropped", connectionId: connectionId ?? this.connectionId, source: "hub" });
    if (!signal.aborted) void this.resume(signal, "dropped", previous);
  }

  // ---- outbound -------------------------------------------------------------------------

  private call(methodName: string, args: unknown[], send: boolean, timeoutMs: number, ctx?: { hub: HubLike; gen: number }): Promise<unknown> {
    const refused = this.refusal(methodName);
    if (refused) return Promise.reject(refused);
    const retryable = send || (this.opts.retryableMethods.size > 0 && this.opts.retryableMethods.has(methodName.toLowerCase()));
    return this.outbox.add(methodName, args, send, retryable, timeoutMs, ctx);
  }

  private refusal(methodName: unknown): Error | undefined {
    const bad = badMethod(methodName);
    if (bad) return bad;
    if (this.phase === "stopping") return new ConnectionStoppedError("stop");
    if (this.phase === "idle") {
      return this.lastStop ? new ConnectionStoppedError(this.lastStop) : new InvalidStateError(DEV ? "Call start() before send()/invoke()." : code(7), this.state);
    }
    return undefined;
  }

  /** Stops a HubConnection; a failure is logged (the connection is gone either way), never thrown. */
  private async stopQuietly(hub: HubLike): Promise<void> {
    try {
      await this.wiring.stop(hub);
    } catch (e) {
      this.log(Level.Warning, 20, describe(e));
    }
  }

  // ---- plumbing -------------------------------------------------------------------------

  private register<H>(list: H[], handler: H, what: string): () => void {
    if (typeof handler !== "function") throw new TypeError(DEV ? `${what}() needs a function.` : code(9, what));
    list.push(handler);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /**
   * The single state funnel: every change is an event of the table in transitions.ts; one the table
   * does not allow is refused and logged (a bug, never a silent jump). Emits only on a real change.
   */
  private go(event: TransitionEvent): void {
    const phase = next(this.phase, event);
    if (phase === undefined) {
      this.log(Level.Error, 21, `${event} ${this.phase}`);
      return;
    }
    const from = this.state;
    this.phase = phase;
    const to = this.state;
    if (from === to) return;
    this.log(Level.Debug, 22, `${from} ${to}`);
    this.emit("state", { from, to });
  }

  /** Emits to every listener, each guarded: a throwing listener is logged and reported, the others still run. */
  private emit<K extends keyof GracefulEvents>(type: K, payload: GracefulEvents[K]): void {
    const all = this.events.all as Map<unknown, Array<(...a: unknown[]) => void> | undefined>;
    for (const h of [...(all.get(type) ?? [])]) {
      try { h(payload); } catch (e) { this.report("listener", e, type); }
    }
    for (const h of [...(all.get("*") ?? [])]) {
      try { h(type, payload); } catch (e) { this.report("listener", e, `* ${type}`); }
    }
  }

  private report(source: GracefulEvents["error"]["source"], error: unknown, detail?: string): void {
    this.log(Level.Error, 23, `${source}${detail ? ` ${detail}` : ""} ${describe(error)}`);
    if (this.reportingError) return; // an `error` listener that throws is only logged
    this.reportingError = true;
    try { this.emit("error", { error, source }); } finally { this.reportingError = false; }
  }

  /**
   * Logs `SG<code>` and the details (values only): the texts live in docs/client.md ("Log codes"),
   * not in the bundle, which stays small.
   */
  private log(level: LogLevel, code: number, detail = ""): void {
    try { this.opts.logger.log(level, `SG${code}${detail && ` ${detail}`}`); } catch { /* a broken logger must not break recovery */ }
  }
}
