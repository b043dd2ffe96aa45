// The handlers and callbacks GracefulConnection puts on each HubConnection it uses, and the app's
// handlers (`on`/`off`), which must be on every live connection and survive each reconnect. Each
// callback is tied to its connection; the caller's guards decide whether that one is still ours.
import { GRACEFUL_QUERY_KEY, GRACEFUL_QUERY_VALUE, HELLO_METHOD } from "../protocol/conventions";
import type { HubLike } from "./hub-like";

export type HubMethodHandler = (...args: any[]) => unknown;

export interface WiringHost {
  exitMethod: string;
  /** The connection is the current one or the handoff's incoming one: its hello and exit count. */
  isAccepted(hub: HubLike): boolean;
  /** The connection is the current one: its close and reconnect callbacks count. */
  isCurrent(hub: HubLike): boolean;
  gotHello(...args: unknown[]): void;
  gotExit(...args: unknown[]): void;
  /** `refused`: the server's Close disallowed reconnecting (see `refused()`). */
  gotClose(error: Error | undefined, refused: boolean): void;
  gotReconnecting(error: Error | undefined): void;
  gotReconnected(connectionId: string | undefined): void;
  /** Every connection app handlers must be on now. */
  liveHubs(): HubLike[];
}

export class HubWiring {
  /** Per method (lower case): the app's handler → the wrapper registered on the connections. */
  private readonly appHandlers = new Map<string, Map<HubMethodHandler, HubMethodHandler>>();
  private readonly detachers = new Map<HubLike, () => void>();
  /** Stop promises of a HubConnection already accounted for (ours, or seen at a close). */
  private readonly knownStops = new WeakSet<object>();

  constructor(private readonly wiringHost: WiringHost) {}

  attach(hub: HubLike): void {
    const h = this.wiringHost;
    markGraceful(hub);
    const hello = (...args: unknown[]) => { if (h.isAccepted(hub)) h.gotHello(...args); };
    const exit = (...args: unknown[]) => { if (h.isAccepted(hub)) h.gotExit(...args); };
    hub.on(HELLO_METHOD, hello);
    hub.on(h.exitMethod, exit);
    hub.onclose((e) => { if (h.isCurrent(hub)) h.gotClose(e, this.refused(hub)); });
    hub.onreconnecting((e) => { if (h.isCurrent(hub)) h.gotReconnecting(e); });
    hub.onreconnected((id) => { if (h.isCurrent(hub)) h.gotReconnected(id); });
    this.eachApp((m, w) => hub.on(m, w));
    this.detachers.set(hub, () => {
      hub.off(HELLO_METHOD, hello);
      hub.off(h.exitMethod, exit);
      this.eachApp((m, w) => hub.off(m, w));
    });
  }

  /** Removes every handler attach() put on a connection we no longer use. */
  detach(hub: HubLike): void {
    this.detachers.get(hub)?.();
    this.detachers.delete(hub);
  }

  /** Adds an app handler, wrapped by `wrap`, to every live connection (once per handler). */
  on(methodName: string, handler: HubMethodHandler, wrap: (h: HubMethodHandler) => HubMethodHandler): void {
    const key = methodName.toLowerCase();
    let handlers = this.appHandlers.get(key);
    if (!handlers) this.appHandlers.set(key, (handlers = new Map()));
    if (handlers.has(handler)) return;
    const wrapped = wrap(handler);
    handlers.set(handler, wrapped);
    for (const hub of this.wiringHost.liveHubs()) hub.on(methodName, wrapped);
  }

  /** Removes one app handler, or all of them for the method. */
  off(methodName: string, handler?: HubMethodHandler): void {
    const key = String(methodName).toLowerCase();
    const handlers = this.appHandlers.get(key);
    if (!handlers) return;
    for (const [original, wrapped] of [...handlers]) {
      if (handler && original !== handler) continue;
      for (const hub of this.wiringHost.liveHubs()) hub.off(methodName, wrapped);
      handlers.delete(original);
    }
    if (handlers.size === 0) this.appHandlers.delete(key);
  }

  /** Stops a HubConnection, remembering its stop promise: the close that follows is ours, not the server's. */
  stop(hub: HubLike): Promise<void> {
    const p = hub.stop();
    const own = (hub as { _stopPromise?: object })._stopPromise;
    if (own) this.knownStops.add(own);
    return p;
  }

  /**
   * Whether the server's Close message disallowed reconnecting. @microsoft/signalr (8–10) tells no
   * one; it then stops itself through `_stopInternal`, which leaves a new `_stopPromise` that we did
   * not cause (with `allowReconnect: true` it does not). Checked against all three by the e2e matrix.
   */
  refused(hub: HubLike): boolean {
    const p = (hub as { _stopPromise?: object })._stopPromise;
    if (!p || this.knownStops.has(p)) return false;
    this.knownStops.add(p);
    return true;
  }

  private eachApp(f: (method: string, wrapped: HubMethodHandler) => void): void {
    for (const [method, handlers] of this.appHandlers) for (const wrapped of handlers.values()) f(method, wrapped);
  }
}

/** Adds `graceful=1` to the hub URL (HubConnection.baseUrl is settable while Disconnected): servers send the hello only to marked connections. */
export function markGraceful(hub: HubLike): void {
  const h = hub as { baseUrl?: unknown; state: string };
  if (typeof h.baseUrl !== "string" || h.state !== "Disconnected") return;
  const url = h.baseUrl;
  if (new RegExp(`[?&]${GRACEFUL_QUERY_KEY}=`).test(url)) return;
  try {
    h.baseUrl = `${url}${url.includes("?") ? "&" : "?"}${GRACEFUL_QUERY_KEY}=${GRACEFUL_QUERY_VALUE}`;
  } catch { /* a HubLike whose baseUrl cannot be set: unmarked */ }
}
