// The connection's state machine in one table. GracefulConnection keeps ONE variable, its phase,
// and changes it only through `next()` (its `go()` funnel); the public `state` is read off the
// phase (STATE), and so is every fact about the underlying connection: whether it is up (UP),
// whether a resume runs on it (RESUMING). docs/client.md "States" says the same in words.
import type { ConnectionState } from "./state";

export type Phase =
  /** Never started, or stopped for good. */
  | "idle"
  /** The first HubConnection.start() runs (or the policy retries it: retryInitialStart). */
  | "starting"
  /** The first connection is up; onResume and the flush run. */
  | "startResuming"
  /** Up and usable. */
  | "connected"
  /** Migrated (same connection, new server): onResume and the re-sends run; still usable by the app. */
  | "migrating"
  /** An exit for our server: onExit handlers and in-flight calls run on the still-live old connection. */
  | "draining"
  /** No connection: our reconnect loop (or an overlap handoff) builds one. */
  | "reconnecting"
  /** No connection: the HubConnection's own withAutomaticReconnect loop runs. */
  | "hubReconnecting"
  /** A new connection is up; onResume and the flush run. */
  | "reconnectResuming"
  /** stop() runs. */
  | "stopping";

/** What the app sees of each phase. */
export const STATE: Readonly<Record<Phase, ConnectionState>> = {
  idle: "Disconnected",
  starting: "Connecting",
  startResuming: "Connecting",
  connected: "Connected",
  migrating: "Connected",
  draining: "Draining",
  reconnecting: "Reconnecting",
  hubReconnecting: "Reconnecting",
  reconnectResuming: "Reconnecting",
  stopping: "Disconnecting",
};

/** Phases in which a resume runs on the underlying connection. */
export const RESUMING: ReadonlySet<Phase> = new Set<Phase>(["startResuming", "migrating", "reconnectResuming"]);
/** Phases in which the underlying connection is connected and ours. */
export const UP: ReadonlySet<Phase> = new Set<Phase>([...RESUMING, "connected", "draining"]);

export type TransitionEvent =
  /** start() */
  | "start"
  /** A connection came up (first start, our loop, the hub's own loop, a handoff): the resume begins. */
  | "up"
  /** The service moved the connection to another server: the resume begins on it. */
  | "migrated"
  /** onResume ran and the buffer was handed over: usable. */
  | "resumed"
  /** An exit for our server. */
  | "exit"
  /** The drain ended: the old connection is closed, a new one is built. */
  | "drained"
  /** The connection dropped: our loop takes over. */
  | "dropped"
  /** The connection dropped: the HubConnection's own loop takes over. */
  | "hubDropped"
  /** The HubConnection's own loop gave up: ours takes over. */
  | "hubGaveUp"
  /** An attempt of a reconnect loop. */
  | "retry"
  | "stop"
  | "stopped"
  /** Terminal without stop(): first start failed, the policy gave up, or the server's Close disallowed reconnecting. */
  | "failed";

type Row = Partial<Record<Phase, Phase>> | { any: Phase };

const DOWN_TO = (to: Phase): Partial<Record<Phase, Phase>> =>
  ({ startResuming: to, connected: to, migrating: to, draining: to, reconnectResuming: to });

/** For each event: the phases it may happen in, and the phase it leads to from each. */
export const TRANSITIONS: Readonly<Record<TransitionEvent, Row>> = {
  start: { idle: "starting" },
  up: { starting: "startResuming", reconnecting: "reconnectResuming", hubReconnecting: "reconnectResuming" },
  migrated: { connected: "migrating" },
  resumed: { startResuming: "connected", migrating: "connected", reconnectResuming: "connected" },
  exit: { connected: "draining" },
  drained: { draining: "reconnecting" },
  dropped: DOWN_TO("reconnecting"),
  hubDropped: DOWN_TO("hubReconnecting"),
  hubGaveUp: { hubReconnecting: "reconnecting" },
  retry: { starting: "starting", reconnecting: "reconnecting" },
  stop: { starting: "stopping", ...DOWN_TO("stopping"), reconnecting: "stopping", hubReconnecting: "stopping" },
  stopped: { stopping: "idle" },
  failed: { any: "idle" },
};

/** The phase `event` leads to from `phase`, or undefined when the table does not allow it. */
export function next(phase: Phase, event: TransitionEvent): Phase | undefined {
  const row = TRANSITIONS[event];
  return "any" in row ? row.any : row[phase];
}
