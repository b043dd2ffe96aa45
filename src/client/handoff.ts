// The seam between GracefulConnection and an optional make-before-break handoff on an exit (the
// `overlap()` of "signalr-graceful/overlap"). Types only: the main entry carries no handoff code, an
// app that wants one imports it and passes `overlap: overlap({...})`.
import type { GracefulEvents } from "./events";
import type { HubLike } from "./hub-like";

/** What the connection lends a handoff: its current connection and the few steps a handoff takes. */
export interface HandoffHost {
  /** The current connection (the one app calls go to). */
  readonly hub: HubLike;
  /** Puts the SDK's and the app's handlers on a connection. */
  attach(hub: HubLike): void;
  /** Takes them off again. */
  detach(hub: HubLike): void;
  /** Stops a connection; its close is never taken as a drop. A failure is logged, not thrown. */
  stop(hub: HubLike): Promise<void>;
  /** The switch: `hub` becomes the current connection (app calls, invocations, close callbacks). */
  adopt(hub: HubLike): void;
  emit<K extends keyof GracefulEvents>(type: K, payload: GracefulEvents[K]): void;
  report(source: GracefulEvents["error"]["source"], error: unknown, detail?: string): void;
  /** Logged as SG24 with the text given. */
  warn(message: string): void;
  /** onResume and the flush on the current connection (reason "exit"); marked as a handoff. */
  resume(signal: AbortSignal, previousConnectionId: string | undefined): Promise<void>;
  /** The path without a handoff: reconnect the current connection by the policy. */
  reconnect(signal: AbortSignal, error: Error, previousConnectionId: string | undefined): Promise<void>;
}

export interface Handoff {
  /** The new connection while it starts: its hello and exit messages count already. */
  readonly incoming: HubLike | undefined;
  /** Connections besides the current one that app handlers must be on (the new or the retiring one). */
  others(): HubLike[];
  /** true when this call of `handler` is a copy already delivered on the other connection. */
  drops(method: string, args: unknown[], handler: unknown): boolean;
  /** After the drain: build, start and resume the new connection, then stop the old one. */
  run(signal: AbortSignal, previousConnectionId: string | undefined): Promise<void>;
  /** stop(): the overlap ends now; returns the second connection (if any) for the caller to stop. */
  abandon(): HubLike | undefined;
}

/** What `overlap({...})` returns and the `overlap` option takes. */
export type HandoffFactory = (host: HandoffHost) => Handoff;
