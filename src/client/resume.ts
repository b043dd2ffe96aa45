// The app's onResume handlers on a new (or migrated) connection: in registration order, each
// awaited, capped by resumeTimeoutMs so that a handler awaiting the very resume it is part of
// (conn.invoke instead of ctx.invoke) cannot hold the buffer forever.
import type { ResumeReason } from "./events";
import type { Timer } from "./timer-set";
import { runHandlers, within } from "./app-handlers";

/**
 * What onResume handlers get. `invoke`/`send` go straight to the new connection, bypassing the buffer,
 * with the same rules as app calls (time limit, size check, delivery ids, re-send after a migration);
 * if that connection is lost they reject with InvocationInterruptedError (the next resume runs anew).
 */
export interface ResumeContext {
  reason: ResumeReason;
  connectionId?: string;
  /** The app server, once its hello arrived (often a moment after the resume starts). */
  readonly serverId?: string;
  previousConnectionId?: string;
  invoke<T = unknown>(methodName: string, ...args: unknown[]): Promise<T>;
  send(methodName: string, ...args: unknown[]): Promise<void>;
}

export type ResumeHandler = (ctx: ResumeContext) => unknown;

/** true: every handler finished within `capMs`; false: the cap ran out first (they keep running). Stops calling handlers once `alive()` is false. */
export async function runResumeHandlers(handlers: readonly ResumeHandler[], ctx: ResumeContext, capMs: number, timer: (ms: number) => Timer, alive: () => boolean, onError: (e: unknown) => void): Promise<boolean> {
  if (handlers.length === 0) return true;
  return within(runHandlers(handlers, ctx, alive, onError), timer(capMs));
}
