// signalr-graceful/overlap: the optional make-before-break handoff on an exit, in its own entry point
// so that an app that does not use it does not ship it. Usage: `overlap: overlap({ createConnection, messageKey })`.
export { overlap } from "./client/overlap";
export type { OverlapOptions } from "./client/overlap";
export type { MessageKey } from "./client/duplicate-filter";
export type { Handoff, HandoffFactory, HandoffHost } from "./client/handoff";
