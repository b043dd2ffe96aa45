// `signalr-graceful/testing`: a miniature Azure SignalR Service and app server, in-process,
// on real loopback sockets, for tests and demos. Node only.
export { MiniService } from "../service/mini-service.js";
export type { MiniServiceOptions, MiniServiceEvents, ConnectionSnapshot, ServerSnapshot } from "../service/mini-service.js";
export { MiniServer } from "../server/mini-server.js";
export type { MiniServerOptions, MiniServerEvents, Identity } from "../server/mini-server.js";
export { MiniLoadBalancer, forwardToRunningServer } from "../server/load-balancer.js";
export type { MiniLoadBalancerOptions, Backend } from "../server/load-balancer.js";
export { DeliveryLedger, parseDeliveryId } from "../server/delivery-dedup.js";
export type { DeliveryLedgerOptions, DeliveryId, DeliveryOutcome } from "../server/delivery-dedup.js";
export { Hub, HubException } from "../server/hub.js";
export type { HubCallerContext, HubCallerClients, HubClients, HubContext, ClientProxy, SingleClientProxy, GroupManager, Migration, HubClass } from "../server/hub.js";
export { ClientResultError } from "../server/client-results.js";
export type { HelloMode } from "../server/hello-policy.js";
export type { AllowedOrigins } from "../service/origin-policy.js";
export type { TransportKind } from "../service/client-transport.js";
export type { GracefulShutdownOptions, ShutdownHook, ShutdownHooks, ShutdownReport, HookRun } from "../server/graceful-shutdown.js";
export { GracefulShutdownMode } from "../protocol/shutdown-mode.js";
export { signToken, clientAudience, serverAudience, USER_ID_CLAIM } from "../service/access-token.js";
export type { TokenOptions } from "../service/access-token.js";
export { HELLO_METHOD, DEFAULT_EXIT_METHOD, DELIVERY_METHOD, GRACEFUL_QUERY_KEY } from "../protocol/conventions.js";
export type { HelloPayload, ExitPayload } from "../protocol/conventions.js";
