// The connection's state machine in one table: for each event, the states it may happen in and the
// state it leads to. GracefulConnection changes its state only through `next()` (its `go()` funnel),
// so this table is the whole of what can happen; docs/client.md "States" says the same in words.
import type { ConnectionState } from "./state";

export type TransitionEvent =
  /** start() */
  | "start"
  /** onResume ran and the buffer was handed over: usable. */
  | "resumed"
  /** An exit for our server: onExit handlers and in-flight calls run on the old connection. */
  | "exit"
  /** The drain ended: the old connection is closed, a new one is built. */
  | "drained"
  /** The connection dropped (our loop or the HubConnection's own takes over). */
  | "dropped"
  /** An attempt of the reconnect loop (a first start retried by the policy stays Connecting). */
  | "retry"
  | "stop"
  | "stopped"
  /** Terminal without stop(): first start failed, the policy gave up, or the server's Close disallowed reconnecting. */
  | "failed";

type Row = { from: readonly ConnectionState[] | "any"; to: ConnectionState | "same" };

export const TRANSITIONS: Readonly<Record<TransitionEvent, Row>> = {
  start: { from: ["Disconnected"], to: "Connecting" },
  resumed: { from: ["Connecting", "Reconnecting", "Connected"], to: "Connected" },
  exit: { from: ["Connected"], to: "Draining" },
  drained: { from: ["Draining"], to: "Reconnecting" },
  dropped: { from: ["Connecting", "Connected", "Draining", "Reconnecting"], to: "Reconnecting" },
  retry: { from: ["Connecting", "Reconnecting"], to: "same" },
  stop: { from: ["Connecting", "Connected", "Draining", "Reconnecting"], to: "Disconnecting" },
  stopped: { from: ["Disconnecting"], to: "Disconnected" },
  failed: { from: "any", to: "Disconnected" },
};

/** The state `event` leads to from `state`, or undefined when the table does not allow it. */
export function next(state: ConnectionState, event: TransitionEvent): ConnectionState | undefined {
  const row = TRANSITIONS[event];
  if (row.from !== "any" && !row.from.includes(state)) return undefined;
  return row.to === "same" ? state : row.to;
}
