// Client proxies (`clients.all`, `group(...)`, …) turned into service-protocol messages.
// Hub-wide sends carry one payload per hub protocol, as the real server SDK does: the
// service hands each client the one its connection speaks.
import { MessageType, type HubMessage } from "../protocol/json-hub-protocol.js";
import { jsonProtocol, messagePackProtocol } from "../protocol/hub-protocol.js";
import { ServiceMessageType, type Payloads, type ServiceMessage } from "../protocol/service-protocol.js";
import type { ClientProxy, GroupManager, HubCallerClients, HubClients, SingleClientProxy } from "./hub.js";

export interface HubTransport {
  /** A message for the whole hub (broadcasts, groups, users). */
  send(message: ServiceMessage): Promise<void>;
  /** A hub message for one connection this server owns, on that connection's own link, in its protocol. */
  sendToConnection(connectionId: string, message: HubMessage): Promise<void>;
  /** Client results: asks one connection for a value. */
  invokeClient(connectionId: string, method: string, args: unknown[]): Promise<unknown>;
  joinGroup(connectionId: string, group: string): Promise<void>;
  leaveGroup(connectionId: string, group: string): Promise<void>;
}

export function invocationMessage(method: string, args: unknown[]): HubMessage {
  if (typeof method !== "string" || method === "") throw new TypeError("A client method name must be a non-empty string.");
  return { type: MessageType.Invocation, target: method, arguments: args };
}

/** One invocation in every hub protocol. Throws when the arguments cannot be serialized. */
export function invocationPayloads(method: string, args: unknown[]): Payloads {
  const m = invocationMessage(method, args);
  return { json: jsonProtocol.write(m), messagepack: messagePackProtocol.write(m) };
}

const proxy = (deliver: (p: Payloads) => Promise<void>): ClientProxy => ({
  send: async (method, ...args) => deliver(invocationPayloads(method, args)),
});

const single = (t: HubTransport, connectionId: string, send: ClientProxy["send"]): SingleClientProxy => ({
  send,
  invoke: async <T>(method: string, ...args: unknown[]) => {
    invocationMessage(method, args); // validates the name
    return (await t.invokeClient(connectionId, method, args)) as T;
  },
});

export function hubClients(t: HubTransport): HubClients {
  return {
    all: proxy((payloads) => t.send({ type: ServiceMessageType.BroadcastData, excluded: [], payloads })),
    allExcept: (ids) => proxy((payloads) => t.send({ type: ServiceMessageType.BroadcastData, excluded: ids, payloads })),
    client: (id) => single(t, id, proxy((payloads) => t.send({ type: ServiceMessageType.MultiConnectionData, connectionIds: [id], payloads })).send),
    clients: (ids) => proxy((payloads) => t.send({ type: ServiceMessageType.MultiConnectionData, connectionIds: ids, payloads })),
    group: (name) => proxy((payloads) => t.send({ type: ServiceMessageType.GroupBroadcastData, group: name, excluded: [], payloads })),
    groups: (names) => proxy((payloads) => t.send({ type: ServiceMessageType.MultiGroupBroadcastData, groups: names, payloads })),
    groupExcept: (name, ids) => proxy((payloads) => t.send({ type: ServiceMessageType.GroupBroadcastData, group: name, excluded: ids, payloads })),
    user: (id) => proxy((payloads) => t.send({ type: ServiceMessageType.UserData, userId: id, payloads })),
    users: (ids) => proxy((payloads) => t.send({ type: ServiceMessageType.MultiUserData, userIds: ids, payloads })),
  };
}

/**
 * The proxies a hub method gets. `onClientInvoke` runs when the method asks a client for a
 * result: like ASP.NET Core, that frees the caller's invocation slot so the caller's own
 * answer (a Completion read by the same paused reader) can get through.
 */
export function callerClients(t: HubTransport, base: HubClients, connectionId: string, onClientInvoke: () => void = () => {}): HubCallerClients {
  const withRelease = (p: SingleClientProxy): SingleClientProxy => ({
    send: p.send,
    invoke: (method, ...args) => {
      onClientInvoke();
      return p.invoke(method, ...args);
    },
  });
  return {
    ...base,
    client: (id) => withRelease(base.client(id)),
    caller: withRelease(
      single(t, connectionId, async (method, ...args) => t.sendToConnection(connectionId, invocationMessage(method, args))),
    ),
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
