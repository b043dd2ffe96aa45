// The one typed event map of GracefulConnection (object payloads, mitt).
import type { ConnectionState } from "./state";
import type { InterruptReason, StopReason } from "./errors";

/** Why a connection is being (re)established. */
export type ReconnectReason = "start" | "exit" | "dropped";
/** Why onResume handlers run. */
export type ResumeReason = "start" | "exit" | "dropped" | "migrated";
/** Why an exit broadcast was not acted upon. */
export type ExitIgnoredReason = "otherServer" | "alreadyLeft" | "alreadyDraining";

export type GracefulEvents = {
  state: { from: ConnectionState; to: ConnectionState };
  /** An exit for our server arrived (payload fields as parsed; all optional). */
  exit: { serverId?: string; timeoutMs?: number; mode?: string };
  /** An exit that is not for us (another server's broadcast, or a second one while draining). */
  exitIgnored: { serverId?: string; currentServerId?: string; reason: ExitIgnoredReason };
  /** Draining began; it lasts at most `deadlineMs` from now. */
  draining: { deadlineMs: number };
  /** One reconnect attempt is scheduled. `source: "hub"` = the HubConnection's own withAutomaticReconnect loop (no delay known). */
  reconnecting: { reason: ReconnectReason; attempt?: number; delayMs?: number; error?: Error; source: "graceful" | "hub"; handoff?: true };
  /** A new connection is up (onResume and the flush follow). `attempt` is unknown for `source: "hub"`. */
  reconnected: { reason: ReconnectReason; connectionId?: string; attempt?: number; source: "graceful" | "hub"; handoff?: true };
  /** The service moved this connection to another app server (same connection id, no disconnect). */
  migrated: { from: string; to: string; connectionId?: string };
  /**
   * onResume handlers ran and the buffer was flushed; the connection is usable again. `handoff: true`:
   * the `overlap` option's make-before-break handoff (the old connection is stopped next; `gapMs` is 0,
   * there was no moment without a connection).
   */
  resumed: { reason: ResumeReason; connectionId?: string; serverId?: string; flushed: number; gapMs: number; handoff?: true };
  closed: { reason: StopReason; error?: Error };
  /** The app server serving us is now known (or changed). */
  server: { serverId: string; previous?: string };
  /** A message that could not be delivered. */
  undelivered: { method: string; kind: "send" | "invoke"; error: Error };
  /** An interrupted invocation was re-sent (method in retryableMethods). */
  retry: { method: string; reason: InterruptReason; attempt: number };
  /** During an `overlap` handoff, an inbound call whose messageKey was already delivered was dropped. */
  duplicateDropped: { method: string; key: string };
  /** A listener or handler threw (also logged). `source` names what threw. */
  error: { error: unknown; source: "listener" | "onExit" | "onResume" | "handler" | "reconnectPolicy" | "messageKey" };
};
