// GracefulConnection's options: defaults, and validation up front (RangeError on nonsense, TypeError on wrong types).
import type { ILogger, IRetryPolicy } from "@microsoft/signalr";
import { DEFAULT_EXIT_METHOD } from "../protocol/conventions";
import type { HandoffFactory } from "./handoff";
import { consoleWarnLogger } from "./logger";
import { defaultRetryPolicy } from "./retry-policy";
import { DEV, code } from "./text";

export interface GracefulConnectionOptions {
  /** Client method the server's shutdown hook broadcasts. Default "exit". */
  exitMethod?: string;
  /** Cap on onExit handlers + in-flight invocations before the old connection is closed anyway. Default 25 000. */
  drainTimeoutMs?: number;
  /** Reconnect delays (@microsoft/signalr IRetryPolicy). Default: 0, then full-jitter exponential up to 30 s, forever. */
  reconnectPolicy?: IRetryPolicy;
  /** Bound on messages buffered while no connection is usable. Default 10 000. */
  maxBufferedMessages?: number;
  /** Methods safe to re-send when their connection was lost or moved (case-insensitive). Default none. */
  retryableMethods?: readonly string[];
  /** @microsoft/signalr ILogger. Default: warnings and errors to the console. */
  logger?: ILogger;
  /** After a migration, how long a non-retryable in-flight invoke may still complete before it is rejected. Default 2 000. */
  migrationGraceMs?: number;
  /** Cap on the onResume handlers; the flush goes ahead after it (handlers keep running). Default 10 000. */
  resumeTimeoutMs?: number;
  /** If the first start() fails: false (default) rejects start(); true retries by the reconnect policy. */
  retryInitialStart?: boolean;
  /**
   * Every send/invoke settles within this many ms of the call (buffered time included), else it
   * rejects with CallTimeoutError. Per call: `conn.withTimeout(ms)`. Infinity = no limit. Default 30 000.
   */
  callTimeoutMs?: number;
  /** Calls whose JSON message would exceed this are rejected with MessageTooLargeError, never sent. Default 32 768 (ASP.NET Core's MaximumReceiveMessageSize). */
  maxMessageBytes?: number;
  /** A call interrupted more often than this (drops, exits, migrations) is rejected with InvocationInterruptedError instead of re-sent. Default 3. */
  maxInterruptions?: number;
  /** Send each send()'s delivery id (DELIVERY_METHOD) so the server runs re-sends once and in order. Default true; false against a server without it. */
  deliveryIds?: boolean;
  /** After an exit for MigrateClients, how long to wait for the migration before draining instead. Default 5 000. */
  migrationWaitMs?: number;
  /** Randomness for the default policy's jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Make-before-break on an exit (WaitForClientsClose): after the drain, a NEW connection is built,
   * started and resumed before the old one is stopped, so no broadcast falls in a gap. Off by default.
   * `overlap: overlap({ createConnection, messageKey })`, with overlap() from "signalr-graceful/overlap".
   */
  overlap?: HandoffFactory;
}

export interface ResolvedOptions {
  exitMethod: string;
  drainTimeoutMs: number;
  reconnectPolicy: IRetryPolicy;
  maxBufferedMessages: number;
  retryableMethods: ReadonlySet<string>;
  logger: ILogger;
  migrationGraceMs: number;
  resumeTimeoutMs: number;
  retryInitialStart: boolean;
  callTimeoutMs: number;
  maxMessageBytes: number;
  maxInterruptions: number;
  deliveryIds: boolean;
  migrationWaitMs: number;
  overlap: HandoffFactory | undefined;
}

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2_147_483_647;

export function timeout(name: string, v: unknown, fallback: number, infinite = false): number {
  if (v === undefined) return fallback;
  if (infinite && v === Infinity) return v;
  if (typeof v !== "number") throw new TypeError(DEV ? `${name} must be a number.` : code(11, name, v));
  if (!(v >= 0 && v <= MAX_TIMER_MS)) throw new RangeError(DEV ? `${name} must be between 0 and ${MAX_TIMER_MS} ms (got ${v}).` : code(12, name, v));
  return v;
}

function count(name: string, v: unknown, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number") throw new TypeError(DEV ? `${name} must be a number.` : code(11, name, v));
  if (!Number.isInteger(v) || v < min) throw new RangeError(DEV ? `${name} must be an integer ≥ ${min} (got ${v}).` : code(13, name, min, v));
  return v;
}

/** `v` if it has JavaScript type `type` (and, for objects, is not null), else a TypeError naming the option. */
function kind<T>(name: string, v: T, type: "string" | "boolean" | "function" | "object"): T {
  if (typeof v !== type || v === null) throw new TypeError(DEV ? `${name} must be a${type === "object" ? "n" : ""} ${type}.` : code(14, name, type));
  return v;
}

export function resolveOptions(o: GracefulConnectionOptions = {}): ResolvedOptions {
  kind("options", o, "object");
  const exitMethod = kind("exitMethod", o.exitMethod ?? DEFAULT_EXIT_METHOD, "string");
  if (exitMethod === "") throw new TypeError(DEV ? "exitMethod must be a non-empty string." : code(15));

  const methods = o.retryableMethods ?? [];
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== "string")) throw new TypeError(DEV ? "retryableMethods must be an array of strings." : code(16));

  if (o.random !== undefined) kind("random", o.random, "function");
  const policy = kind("reconnectPolicy", o.reconnectPolicy !== undefined ? o.reconnectPolicy : defaultRetryPolicy(o.random ? { random: o.random } : {}), "object");
  kind("reconnectPolicy.nextRetryDelayInMilliseconds", policy.nextRetryDelayInMilliseconds, "function");

  const logger = kind("logger", o.logger ?? consoleWarnLogger, "object");
  kind("logger.log", logger.log, "function");

  return {
    overlap: resolveOverlap(o.overlap),
    exitMethod,
    drainTimeoutMs: timeout("drainTimeoutMs", o.drainTimeoutMs, 25_000),
    reconnectPolicy: policy,
    maxBufferedMessages: count("maxBufferedMessages", o.maxBufferedMessages, 10_000, 1),
    retryableMethods: new Set(methods.map((m) => m.toLowerCase())),
    logger,
    migrationGraceMs: timeout("migrationGraceMs", o.migrationGraceMs, 2_000),
    resumeTimeoutMs: timeout("resumeTimeoutMs", o.resumeTimeoutMs, 10_000),
    retryInitialStart: kind("retryInitialStart", o.retryInitialStart ?? false, "boolean"),
    callTimeoutMs: timeout("callTimeoutMs", o.callTimeoutMs, 30_000, true),
    maxMessageBytes: count("maxMessageBytes", o.maxMessageBytes, 32_768, 64),
    maxInterruptions: count("maxInterruptions", o.maxInterruptions, 3, 0),
    deliveryIds: kind("deliveryIds", o.deliveryIds ?? true, "boolean"),
    migrationWaitMs: timeout("migrationWaitMs", o.migrationWaitMs, 5_000),
  };
}

function resolveOverlap(o: unknown): HandoffFactory | undefined {
  if (o === undefined || typeof o === "function") return o as HandoffFactory | undefined;
  throw new TypeError(DEV ? 'overlap takes overlap({ createConnection, messageKey }) from "signalr-graceful/overlap".' : code(17));
}
