// Named errors. Each sets `name` explicitly (minifiers rename constructors) and carries typed fields.

/** Why an in-flight invocation lost its connection. */
export type InterruptReason = "exit" | "dropped" | "migrated";

/** Why the connection stopped for good. */
export type StopReason = "stop" | "startFailed" | "retriesExhausted";

/** The outbound buffer is full: the NEW message was rejected (old ones are never dropped). */
export class BufferFullError extends Error {
  readonly method: string;
  readonly limit: number;
  constructor(method: string, limit: number) {
    super(`Outbound buffer is full (${limit} messages); '${method}' was not queued.`);
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
    const why = reason === "stop" ? "stop() was called" : reason === "startFailed" ? "the first start failed" : "the reconnect policy gave up";
    super(`The connection is stopped: ${why}.`);
    this.name = "ConnectionStoppedError";
    this.reason = reason;
    if (cause !== undefined) this.cause = cause;
  }
}

/** An invocation was in flight when its connection closed or moved; the server may or may not have run it. */
export class InvocationInterruptedError extends Error {
  /** Always true: calling again is the app's choice (the method is not in `retryableMethods`). */
  readonly retryable = true as const;
  readonly reason: InterruptReason;
  readonly method: string;
  constructor(method: string, reason: InterruptReason) {
    super(`Invocation of '${method}' was interrupted (${reason}); it may or may not have run on the server.`);
    this.name = "InvocationInterruptedError";
    this.method = method;
    this.reason = reason;
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
