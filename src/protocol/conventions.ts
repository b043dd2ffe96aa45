// The small wire conventions that let a client know which app server it is on,
// whose "exit" it received and that it was migrated. Azure SignalR itself tells
// the client none of this; an app server that wants graceful clients sends
// these two messages (the kit's MiniServer does by default, the README shows C#).
//
// Browser-safe: imported by both the SDK and the testing kit.

/** Client method the app server calls on the caller in OnConnected. */
export const HELLO_METHOD = "graceful.hello";

/** Default client method the shutdown hook broadcasts (the official sample's name). */
export const DEFAULT_EXIT_METHOD = "exit";

/** Payload of {@link HELLO_METHOD}. */
export interface HelloPayload {
  /** The app server this connection is now served by. */
  serverId: string;
  /** Set when this connection was migrated here from another server (IConnectionMigrationFeature.MigrateFrom). */
  migratedFrom?: string;
}

/** Payload of the exit broadcast. Every field is optional: a bare `exit()` means "the server you are on". */
export interface ExitPayload {
  /** The server that is shutting down. Clients of other servers ignore the exit. */
  serverId?: string;
  /** Milliseconds the server will still wait before it drops its clients; caps the client's drain. */
  timeoutMs?: number;
  /** Shutdown mode name, informative only. */
  mode?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a hello payload; `undefined` when it is malformed (the caller logs and carries on). */
export function parseHello(arg: unknown): HelloPayload | undefined {
  if (!isRecord(arg) || typeof arg.serverId !== "string" || arg.serverId === "") return undefined;
  const from = arg.migratedFrom;
  return typeof from === "string" && from !== "" ? { serverId: arg.serverId, migratedFrom: from } : { serverId: arg.serverId };
}

/**
 * Reads an exit payload. Returns `undefined` for "no details" (no argument, or a malformed one);
 * malformed fields are dropped one by one rather than failing the whole payload.
 */
export function parseExit(arg: unknown): ExitPayload | undefined {
  if (!isRecord(arg)) return undefined;
  const out: ExitPayload = {};
  if (typeof arg.serverId === "string" && arg.serverId !== "") out.serverId = arg.serverId;
  if (typeof arg.timeoutMs === "number" && Number.isFinite(arg.timeoutMs) && arg.timeoutMs >= 0) out.timeoutMs = arg.timeoutMs;
  if (typeof arg.mode === "string") out.mode = arg.mode;
  return out;
}
