// The drain of a server-requested exit: the app's onExit handlers run in order, each awaited, then
// the calls still in flight settle, all on the old connection, which the old server still serves;
// bounded by a budget. What comes after (closing the old connection, the new one) is the caller's.
import type { ExitPayload } from "../protocol/conventions";
import type { Timer } from "./timer-set";
import { runHandlers, within } from "./app-handlers";

/** What onExit handlers get: the exit's details and the time they have. */
export interface ExitContext {
  serverId?: string;
  timeoutMs?: number;
  mode?: string;
  /** Milliseconds the whole drain (handlers + in-flight calls) may take. */
  budgetMs: number;
  /** Aborted when the drain ends (budget out included), the connection drops or stop() is called. */
  signal: AbortSignal;
}

export type ExitHandler = (ctx: ExitContext) => unknown;

/** The drain's budget: drainTimeoutMs, lowered by the exit's timeoutMs less a margin of min(500 ms, 10 %). */
export function drainBudget(drainTimeoutMs: number, timeoutMs: number | undefined): number {
  return Math.max(0, Math.min(drainTimeoutMs, timeoutMs === undefined ? Infinity : timeoutMs - Math.min(500, timeoutMs * 0.1)));
}

export interface DrainParts {
  handlers: readonly ExitHandler[];
  payload: ExitPayload;
  budgetMs: number;
  /** Resolves once no call is in flight. */
  whenIdle(): Promise<void>;
  timer(ms: number): Timer;
  /** A handler threw: report it, the next one runs. */
  onHandlerError(e: unknown): void;
}

/** true: everything finished within the budget; false: the budget ran out; undefined: `flow` was aborted. */
export async function drain(d: DrainParts, flow: AbortSignal): Promise<boolean | undefined> {
  const ends = new AbortController();
  const end = () => ends.abort();
  flow.addEventListener("abort", end);
  const ctx: ExitContext = { ...d.payload, budgetMs: d.budgetMs, signal: ends.signal };
  const work = (async () => {
    await runHandlers(d.handlers, ctx, () => !flow.aborted, d.onHandlerError);
    if (!flow.aborted) await d.whenIdle();
  })();
  const finished = await within(work, d.timer(d.budgetMs));
  flow.removeEventListener("abort", end);
  end();
  return flow.aborted ? undefined : finished;
}
