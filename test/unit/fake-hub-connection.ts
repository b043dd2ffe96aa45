// A controllable stand-in for @microsoft/signalr's HubConnection: the subset GracefulConnection uses,
// with the same callback order as the real one (pending invocations are rejected, then onclose /
// onreconnecting run synchronously; onclose never fires for a start that failed).
import type { HubLike } from "../../src/client/hub-like";

type StartOutcome = "ok" | "hold" | Error;
interface PendingInvoke { id: number; method: string; args: unknown[]; resolve(v: unknown): void; reject(e: Error): void }

export class FakeHubConnection implements HubLike {
  state = "Disconnected";
  connectionId: string | null = null;
  /** Present when simulating withAutomaticReconnect() (GracefulConnection only logs it). */
  _reconnectPolicy?: object;
  /** Outcomes of the next start() calls, in order; "ok" when empty. */
  readonly startOutcomes: StartOutcome[] = [];
  /** Called on each send() and invoke() as it goes out; may drop the connection. */
  onSend?: (method: string, args: unknown[]) => void;
  readonly sent: Array<{ method: string; args: unknown[] }> = [];
  readonly invocations = new Map<number, PendingInvoke>();
  /** Methods a quick server answers by itself (void, one microtask later), as a send's receipt. */
  autoComplete: (method: string) => boolean = () => false;
  startCalls = 0;
  /** HubConnection.baseUrl (settable while Disconnected). */
  baseUrl = "http://host/chat";
  _stopPromise?: Promise<void>;

  private readonly handlers = new Map<string, Array<(...a: any[]) => unknown>>();
  private readonly closeCbs: Array<(e?: Error) => void> = [];
  private readonly reconnectingCbs: Array<(e?: Error) => void> = [];
  private readonly reconnectedCbs: Array<(id?: string) => void> = [];
  private nextConnection = 1;
  private nextInvocation = 1;
  private heldStart?: { resolve(): void; reject(e: Error): void };

  /** Prefix of this fake's log lines ("hub" by default: "hub.start", …). */
  private readonly label: string;

  constructor(private readonly log: string[] = [], options: { automaticReconnect?: boolean; label?: string; firstConnection?: number } = {}) {
    if (options.automaticReconnect) this._reconnectPolicy = {};
    this.label = options.label ?? "hub";
    this.nextConnection = options.firstConnection ?? 1;
  }

  // ---- HubLike --------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.state !== "Disconnected") throw new Error("Cannot start a HubConnection that is not in the 'Disconnected' state.");
    this.startCalls++;
    this.state = "Connecting";
    this.log.push(`${this.label}.start`);
    const outcome = this.startOutcomes.shift() ?? "ok";
    await Promise.resolve();
    if (outcome === "hold") {
      await new Promise<void>((resolve, reject) => (this.heldStart = { resolve, reject })).catch((e) => {
        this.state = "Disconnected";
        throw e;
      });
    } else if (outcome instanceof Error) {
      this.state = "Disconnected";
      throw outcome;
    }
    if (this.state !== "Connecting") throw new Error("The connection was stopped before the hub handshake could complete.");
    this.state = "Connected";
    this.connectionId = `c${this.nextConnection++}`;
  }

  stop(): Promise<void> {
    this._stopPromise = this.stopInternal();
    return this._stopPromise;
  }

  private async stopInternal(): Promise<void> {
    this.log.push(`${this.label}.stop`);
    if (this.state === "Disconnected") return;
    if (this.heldStart) {
      const held = this.heldStart;
      this.heldStart = undefined;
      held.reject(new Error("The connection was stopped before the hub handshake could complete."));
      return;
    }
    const wasStarted = this.state === "Connected" || this.state === "Reconnecting";
    this.state = "Disconnecting";
    await Promise.resolve();
    this.close(undefined, wasStarted);
  }

  async send(method: string, ...args: unknown[]): Promise<void> {
    if (this.state !== "Connected") throw new Error("Cannot send data if the connection is not in the 'Connected' State.");
    this.log.push(`${this.label}.send ${method}${args.length ? " " + args.join(",") : ""}`);
    const connection = this.connectionId;
    this.onSend?.(method, args);
    await Promise.resolve();
    if (this.state !== "Connected" || this.connectionId !== connection) throw new Error("Connection closed while sending.");
    this.sent.push({ method, args });
  }

  invoke<T = any>(method: string, ...args: unknown[]): Promise<T> {
    if (this.state !== "Connected") return Promise.reject(new Error("Cannot send data if the connection is not in the 'Connected' State."));
    const id = this.nextInvocation++;
    this.log.push(`${this.label}.invoke ${method}${args.length ? " " + args.join(",") : ""}`);
    this.onSend?.(method, args);
    if (this.state !== "Connected") return Promise.reject(new Error("Connection closed while sending."));
    const p = new Promise<T>((resolve, reject) => this.invocations.set(id, { id, method, args, resolve: resolve as (v: unknown) => void, reject }));
    if (this.autoComplete(method)) {
      const connection = this.connectionId;
      void Promise.resolve().then(() => {
        const inv = this.invocations.get(id);
        if (!inv || this.connectionId !== connection || this.state !== "Connected") return;
        this.invocations.delete(id);
        this.sent.push({ method, args });
        inv.resolve(undefined);
      });
    }
    return p;
  }

  on(method: string, handler: (...args: any[]) => unknown): void {
    const key = method.toLowerCase();
    const list = this.handlers.get(key) ?? [];
    if (!list.includes(handler)) list.push(handler);
    this.handlers.set(key, list);
  }

  off(method: string, handler?: (...args: any[]) => void): void {
    const key = method.toLowerCase();
    if (!handler) return void this.handlers.delete(key);
    this.handlers.set(key, (this.handlers.get(key) ?? []).filter((h) => h !== handler));
  }

  onclose(cb: (e?: Error) => void): void { this.closeCbs.push(cb); }
  onreconnecting(cb: (e?: Error) => void): void { this.reconnectingCbs.push(cb); }
  onreconnected(cb: (id?: string) => void): void { this.reconnectedCbs.push(cb); }

  // ---- test controls --------------------------------------------------------------------

  /** The server calls a client method. Handler errors are swallowed like HubConnection does. */
  deliver(method: string, ...args: unknown[]): void {
    for (const h of [...(this.handlers.get(method.toLowerCase()) ?? [])]) {
      try { h(...args); } catch { /* HubConnection logs and carries on */ }
    }
  }

  releaseStart(outcome: "ok" | Error = "ok"): void {
    const held = this.heldStart;
    this.heldStart = undefined;
    if (!held) throw new Error("no held start");
    if (outcome === "ok") held.resolve();
    else held.reject(outcome);
  }

  /** The oldest (or newest) pending invocation of `method` (or any). */
  pendingInvoke(method?: string, newest = false): PendingInvoke {
    const all = [...this.invocations.values()].filter((i) => method === undefined || i.method === method);
    const p = newest ? all[all.length - 1] : all[0];
    if (!p) throw new Error(`no pending invocation of ${method ?? "any method"}`);
    return p;
  }

  complete(method: string, result?: unknown, newest = false): void {
    const p = this.pendingInvoke(method, newest);
    this.invocations.delete(p.id);
    p.resolve(result);
  }

  fail(method: string, message: string): void {
    const p = this.pendingInvoke(method);
    this.invocations.delete(p.id);
    p.reject(new Error(message));
  }

  /** The server side goes away: like HubConnection._connectionClosed. */
  drop(error: Error = new Error("WebSocket closed with status code: 1006.")): void {
    this.log.push(`${this.label}.drop`);
    if (this._reconnectPolicy && this.state === "Connected") {
      this.state = "Reconnecting";
      this.cancelInvocations(error);
      for (const cb of this.reconnectingCbs) cb(error);
      return;
    }
    this.close(error, this.state === "Connected");
  }

  /**
   * The server sends a Close message. Without allowReconnect the real HubConnection stops itself
   * through _stopInternal, leaving a `_stopPromise` the app did not cause: the fake does the same.
   */
  closeFromServer(error: string, allowReconnect: boolean): void {
    this.log.push(`${this.label}.close ${allowReconnect ? "allowReconnect" : "noReconnect"}`);
    if (!allowReconnect) this._stopPromise = Promise.resolve();
    this.close(new Error(`Server returned an error on close: ${error}`), this.state === "Connected");
  }

  /** withAutomaticReconnect's loop succeeded. */
  autoReconnected(): void {
    this.state = "Connected";
    this.connectionId = `c${this.nextConnection++}`;
    for (const cb of this.reconnectedCbs) cb(this.connectionId);
  }

  /** withAutomaticReconnect's loop gave up. */
  autoGiveUp(): void {
    this.close(undefined, true);
  }

  private cancelInvocations(error: Error): void {
    const all = [...this.invocations.values()];
    this.invocations.clear();
    for (const p of all) p.reject(error);
  }

  private close(error: Error | undefined, fireOnClose: boolean): void {
    this.state = "Disconnected";
    this.cancelInvocations(error ?? new Error("Invocation canceled due to the underlying connection being closed."));
    if (fireOnClose) for (const cb of this.closeCbs) cb(error);
  }
}
