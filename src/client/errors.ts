// Named errors. Each sets `name` explicitly (minifiers rename constructors) and carries typed fields;
// the message is a text or, in the minified builds, a code (text.ts).
import { DEV, code } from "./text";

/** Why an in-flight invocation lost its connection. */
export type InterruptReason = "exit" | "dropped" | "migrated";

/** Why the connection stopped for good. `serverClosed`: the server sent a Close that disallows reconnecting. */
export type StopReason = "stop" | "startFailed" | "retriesExhausted" | "serverClosed";

/** The outbound buffer is full: the NEW message was rejected (old ones are never dropped). */
export class BufferFullError extends Error {
  readonly method: string;
  readonly limit: number;
  constructor(method: string, limit: number) {
    super(DEV ? `Buffer full (${limit}); '${method}' not queued.` : code(1, method, limit));
    this.name = "BufferFullError";
    this.method = method;
    this.limit = limit;
  }
}

/** The connection was stopped (by stop(), a failed first start, or a retry policy that gave up). */
export class ConnectionStoppedError extends Error {
  readonly reason: StopReason;
  override readonly cause?: unknown;
  constructor(reason: StopReason, cause?: unknown) {
    super(DEV ? `The connection is stopped (${reason}).` : code(2, reason));
    this.name = "ConnectionStoppedError";
    this.reason = reason;
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * A call was in flight when its connection closed or moved, and is not re-sent: the method is not in
 * `retryableMethods`, or the call was interrupted `maxInterruptions` times already. The server may or
 * may not have run it.
 */
export class InvocationInterruptedError extends Error {
  /** Always true: calling again is the app's choice. */
  readonly retryable = true as const;
  readonly reason: InterruptReason;
  readonly method: string;
  /** How many times it was handed to a connection. */
  readonly attempts: number;
  constructor(method: string, reason: InterruptReason, attempts = 1) {
    super(DEV ? `'${method}' interrupted (${reason}, ${attempts} attempt(s)); it may have run.` : code(3, method, reason, attempts));
    this.name = "InvocationInterruptedError";
    this.method = method;
    this.reason = reason;
    this.attempts = attempts;
  }
}

/** The call did not settle within its time limit (`callTimeoutMs` or a per-call override); it may or may not have run. */
export class CallTimeoutError extends Error {
  readonly method: string;
  readonly timeoutMs: number;
  constructor(method: string, timeoutMs: number) {
    super(DEV ? `'${method}' timed out after ${timeoutMs} ms; it may have run.` : code(4, method, timeoutMs));
    this.name = "CallTimeoutError";
    this.method = method;
    this.timeoutMs = timeoutMs;
  }
}

/** The message is larger than `maxMessageBytes` (the server would close the connection): it was never sent. */
export class MessageTooLargeError extends Error {
  readonly method: string;
  readonly bytes: number;
  readonly limit: number;
  constructor(method: string, bytes: number, limit: number) {
    super(DEV ? `'${method}' is ${bytes} bytes (limit ${limit}); not sent.` : code(5, method, bytes, limit));
    this.name = "MessageTooLargeError";
    this.method = method;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** The call is not valid in the current state (e.g. start() twice, send() before start()). */
export class InvalidStateError extends Error {
  readonly state: string;
  constructor(message: string, state: string) {
    super(message);
    this.name = "InvalidStateError";
    this.state = state;
  }
}

/** What was thrown, as an Error (a thrown string or object is wrapped). */
export const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

/** What was thrown, for a log line: "Name: message". */
export const describe = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));
