// What an exit message means for this connection, decided from the facts alone (no side effects):
// GracefulConnection logs, emits and acts on the answer.
import { isId, parseExit, type ExitPayload } from "../protocol/conventions";
import type { ExitIgnoredReason } from "./events";
import type { ConnectionState } from "./state";

/** The exit message's payload; `warn` 8: a serverId that is not an id (ignore it), 9: malformed (taken as an exit for our server). */
export function readExit(raw: unknown): { payload?: ExitPayload; warn?: 8 | 9 } {
  if (raw && typeof raw === "object" && "serverId" in raw && !isId((raw as { serverId: unknown }).serverId)) return { warn: 8 };
  const parsed = parseExit(raw);
  if (raw !== undefined && raw !== null && parsed === undefined) return { payload: {}, warn: 9 };
  return { payload: parsed ?? {} };
}

export interface ExitFacts {
  state: ConnectionState;
  /** The server we are on (undefined before its hello). */
  serverId: string | undefined;
  hasLeft(serverId: string): boolean;
  /** The underlying connection is connected and ours. */
  up: boolean;
  /** onResume handlers or the flush run on it now. */
  resuming: boolean;
}

/**
 * An ExitIgnoredReason (emit `exitIgnored`), or: "noConnection" (no usable connection: the reconnect
 * under way handles it), "defer" (acted upon once the running resume completes), "none" (Connecting or
 * Reconnecting on an up link: not ours to act on yet), "awaitMigration" (MigrateClients: wait, bounded,
 * for the migration), "drain". Plain strings: the decision costs the bundle next to nothing.
 */
export type ExitDecision = ExitIgnoredReason | "noConnection" | "defer" | "none" | "awaitMigration" | "drain";

export function decideExit(p: ExitPayload, f: ExitFacts): ExitDecision {
  if (p.serverId !== undefined && p.serverId !== f.serverId) {
    if (f.serverId !== undefined) return "otherServer";
    if (f.hasLeft(p.serverId)) return "alreadyLeft";
  }
  if (f.state === "Draining") return "alreadyDraining";
  if (!f.up) return "noConnection";
  if (f.resuming) return "defer";
  if (f.state !== "Connected") return "none";
  return p.mode === "MigrateClients" ? "awaitMigration" : "drain";
}
