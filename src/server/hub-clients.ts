// Client proxies (`clients.all`, `group(...)`, …) turned into service-protocol messages.
import { formatMessage, MessageType } from "../protocol/json-hub-protocol.js";
import { ServiceMessageType, type ServiceMessage } from "../protocol/service-protocol.js";
import type { ClientProxy, GroupManager, HubCallerClients, HubClients } from "./hub.js";

export interface HubTransport {
  /** A message for the whole hub (broadcasts, groups, users). */
  send(message: ServiceMessage): Promise<void>;
  /** Data for one connection this server owns, on that connection's own link. */
  sendToConnection(connectionId: string, payload: Uint8Array): Promise<void>;
  joinGroup(connectionId: string, group: string): Promise<void>;
  leaveGroup(connectionId: string, group: string): Promise<void>;
}

export function invocationPayload(method: string, args: unknown[]): Uint8Array {
  if (typeof method !== "string" || method === "") throw new TypeError("A client method name must be a non-empty string.");
  return Buffer.from(formatMessage({ type: MessageType.Invocation, target: method, arguments: args }));
}

const proxy = (deliver: (json: Uint8Array) => Promise<void>): ClientProxy => ({
  send: async (method, ...args) => deliver(invocationPayload(method, args)),
});

export function hubClients(t: HubTransport): HubClients {
  const payloads = (json: Uint8Array) => ({ json });
  return {
    all: proxy((json) => t.send({ type: ServiceMessageType.BroadcastData, excluded: [], payloads: payloads(json) })),
    allExcept: (ids) => proxy((json) => t.send({ type: ServiceMessageType.BroadcastData, excluded: ids, payloads: payloads(json) })),
    client: (id) => proxy((json) => t.send({ type: ServiceMessageType.MultiConnectionData, connectionIds: [id], payloads: payloads(json) })),
    clients: (ids) => proxy((json) => t.send({ type: ServiceMessageType.MultiConnectionData, connectionIds: ids, payloads: payloads(json) })),
    group: (name) => proxy((json) => t.send({ type: ServiceMessageType.GroupBroadcastData, group: name, excluded: [], payloads: payloads(json) })),
    groups: (names) => proxy((json) => t.send({ type: ServiceMessageType.MultiGroupBroadcastData, groups: names, payloads: payloads(json) })),
    groupExcept: (name, ids) => proxy((json) => t.send({ type: ServiceMessageType.GroupBroadcastData, group: name, excluded: ids, payloads: payloads(json) })),
    user: (id) => proxy((json) => t.send({ type: ServiceMessageType.UserData, userId: id, payloads: payloads(json) })),
    users: (ids) => proxy((json) => t.send({ type: ServiceMessageType.MultiUserData, userIds: ids, payloads: payloads(json) })),
  };
}

export function callerClients(t: HubTransport, base: HubClients, connectionId: string): HubCallerClients {
  return {
    ...base,
    caller: proxy((json) => t.sendToConnection(connectionId, json)),
    others: base.allExcept([connectionId]),
    othersInGroup: (name) => base.groupExcept(name, [connectionId]),
  };
}

export function groupManager(t: HubTransport): GroupManager {
  const check = (connectionId: unknown, group: unknown) => {
    if (typeof connectionId !== "string" || connectionId === "") throw new TypeError("connectionId must be a non-empty string.");
    if (typeof group !== "string" || group === "") throw new TypeError("group must be a non-empty string.");
  };
  return {
    add: async (connectionId, group) => (check(connectionId, group), t.joinGroup(connectionId, group)),
    remove: async (connectionId, group) => (check(connectionId, group), t.leaveGroup(connectionId, group)),
  };
}
