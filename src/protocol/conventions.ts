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

/**
 * Query parameter the SDK adds to the hub URL (`?graceful=1`). Servers send the hello only to
 * connections that carry it, so clients that did not ask (a plain JS or .NET client) see nothing.
 * Through Azure SignalR it reaches the app server in OpenConnection's query string.
 */
export const GRACEFUL_QUERY_KEY = "graceful";
export const GRACEFUL_QUERY_VALUE = "1";

/**
 * Hub method the SDK calls (fire-and-forget) right before each `send()`, with `(clientId, n, w)`:
 * the sender, the message's delivery number (1, 2, … per sender, the same on a re-send) and the
 * highest number below which the sender has nothing unsettled. The server runs the next invocation
 * of the connection at most once per (clientId, n), and not before every number in (w, n) is done.
 */
export const DELIVERY_METHOD = "GracefulDelivery";

/** Cap on ids the server sends (server ids): longer ones are refused and logged. */
export const MAX_ID_LENGTH = 128;

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
  /**
   * The server's shutdown mode: "MigrateClients" makes SDK clients wait (bounded) for their migration
   * instead of draining; "WaitForClientsClose" or no mode: drain and reconnect.
   */
  mode?: string;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Reads a hello payload; `undefined` when it is malformed (the caller logs and carries on). */
export function parseHello(arg: unknown): HelloPayload | undefined {
  if (!isRecord(arg) || !isId(arg.serverId)) return undefined;
  const from = arg.migratedFrom;
  if (typeof from === "string" && from.length > MAX_ID_LENGTH) return undefined;
  return isId(from) ? { serverId: arg.serverId, migratedFrom: from } : { serverId: arg.serverId };
}

/** A non-empty string of at most MAX_ID_LENGTH characters. */
export const isId = (v: unknown): v is string => typeof v === "string" && v !== "" && v.length <= MAX_ID_LENGTH;

/**
 * Reads an exit payload. Returns `undefined` for "no details" (no argument, or a malformed one);
 * malformed fields are dropped one by one rather than failing the whole payload.
 */
export function parseExit(arg: unknown): ExitPayload | undefined {
  if (!isRecord(arg)) return undefined;
  const out: ExitPayload = {};
  if (isId(arg.serverId)) out.serverId = arg.serverId;
  if (typeof arg.timeoutMs === "number" && Number.isFinite(arg.timeoutMs) && arg.timeoutMs >= 0) out.timeoutMs = arg.timeoutMs;
  if (isId(arg.mode)) out.mode = arg.mode;
  return out;
}
