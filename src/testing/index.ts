// `signalr-graceful/testing`: a miniature Azure SignalR Service and app server, in-process,
// on real loopback sockets, for tests and demos. Node only.
export { MiniService } from "../service/mini-service.js";
export type { MiniServiceOptions, MiniServiceEvents, ConnectionSnapshot, ServerSnapshot } from "../service/mini-service.js";
export { MiniServer } from "../server/mini-server.js";
export type { MiniServerOptions, MiniServerEvents, Identity } from "../server/mini-server.js";
export { MiniLoadBalancer, forwardToRunningServer } from "../server/load-balancer.js";
export type { MiniLoadBalancerOptions } from "../server/load-balancer.js";
export { Hub, HubException } from "../server/hub.js";
export type { HubCallerContext, HubCallerClients, HubClients, HubContext, ClientProxy, GroupManager, Migration, HubClass } from "../server/hub.js";
export type { GracefulShutdownOptions, ShutdownHook, ShutdownHooks, ShutdownReport, HookRun } from "../server/graceful-shutdown.js";
export { GracefulShutdownMode } from "../protocol/shutdown-mode.js";
export { signToken, clientAudience, serverAudience, USER_ID_CLAIM } from "../service/access-token.js";
export type { TokenOptions } from "../service/access-token.js";
export { HELLO_METHOD, DEFAULT_EXIT_METHOD } from "../protocol/conventions.js";
export type { HelloPayload, ExitPayload } from "../protocol/conventions.js";
