// signalr-graceful: the client SDK (browser + Node). The testing kit is the separate "signalr-graceful/testing" entry.
export { GracefulConnection } from "./client/graceful-connection";
export type { ExitContext, ExitHandler, HubMethodHandler, ResumeContext, ResumeHandler } from "./client/graceful-connection";
export type { GracefulEvents, ExitIgnoredReason, ReconnectReason, ResumeReason } from "./client/events";
export type { ConnectionState } from "./client/state";
export type { GracefulConnectionOptions, OverlapOptions } from "./client/options";
export type { HubLike } from "./client/hub-like";
export { BufferFullError, ConnectionStoppedError, InvalidStateError, InvocationInterruptedError } from "./client/errors";
export type { InterruptReason, StopReason } from "./client/errors";
export { defaultRetryPolicy } from "./client/retry-policy";
export type { RetryPolicyOptions } from "./client/retry-policy";
export { DEFAULT_EXIT_METHOD, HELLO_METHOD, parseExit, parseHello } from "./protocol/conventions";
export type { ExitPayload, HelloPayload } from "./protocol/conventions";
