// signalr-graceful: the client SDK (browser + Node). The testing kit is the separate "signalr-graceful/testing" entry.
export { GracefulConnection } from "./client/graceful-connection";
export type { HubMethodHandler, TimedCalls } from "./client/graceful-connection";
export type { ResumeContext, ResumeHandler } from "./client/resume";
export type { ExitContext, ExitHandler } from "./client/drain";
export type { GracefulEvents, ExitIgnoredReason, ReconnectReason, ResumeReason } from "./client/events";
export type { ConnectionState } from "./client/state";
export type { GracefulConnectionOptions } from "./client/options";
export type { Handoff, HandoffFactory, HandoffHost } from "./client/handoff";
export type { HubLike } from "./client/hub-like";
export { BufferFullError, CallTimeoutError, ConnectionStoppedError, InvalidStateError, InvocationInterruptedError, MessageTooLargeError } from "./client/errors";
export type { InterruptReason, StopReason } from "./client/errors";
export { defaultRetryPolicy } from "./client/retry-policy";
export type { RetryPolicyOptions } from "./client/retry-policy";
export { DEFAULT_EXIT_METHOD, DELIVERY_METHOD, GRACEFUL_QUERY_KEY, HELLO_METHOD, parseExit, parseHello } from "./protocol/conventions";
export type { ExitPayload, HelloPayload } from "./protocol/conventions";
