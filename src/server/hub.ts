// What a hub class sees, shaped after ASP.NET Core's Hub: `context`, `clients`, `groups`.
// Hubs are transient: a fresh instance per invocation and per lifecycle call.

export interface Migration {
  /** The server the connection came from / went to (IConnectionMigrationFeature). */
  from: string;
  to: string;
}

export interface HubCallerContext {
  readonly connectionId: string;
  readonly userId: string | undefined;
  readonly claims: Readonly<Record<string, string>>;
  /** Set in onConnected of a connection migrated here, and in onDisconnected of one migrated away. */
  readonly migration: Migration | undefined;
  /** Per-connection state that lives as long as the connection does on this server. */
  readonly items: Map<string, unknown>;
  /** The app server running this hub. */
  readonly serverId: string;
  /** Closes this client's connection (with an optional error it receives). */
  abort(error?: string): void;
}

export interface ClientProxy {
  /** Resolves once the message is handed to the service link. */
  send(method: string, ...args: unknown[]): Promise<void>;
}

/** One client: it can also be asked for a value (client results, .NET's ISingleClientProxy). */
export interface SingleClientProxy extends ClientProxy {
  /**
   * Calls a client method that returns a value (`connection.on(method, (...args) => value)` on
   * the JS client). Rejects with a ClientResultError when the client answers with an error,
   * does not answer within the server's `clientResultTimeoutMs`, or disconnects.
   */
  invoke<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
}

export interface HubClients {
  readonly all: ClientProxy;
  allExcept(connectionIds: string[]): ClientProxy;
  client(connectionId: string): SingleClientProxy;
  clients(connectionIds: string[]): ClientProxy;
  group(name: string): ClientProxy;
  groups(names: string[]): ClientProxy;
  groupExcept(name: string, connectionIds: string[]): ClientProxy;
  user(userId: string): ClientProxy;
  users(userIds: string[]): ClientProxy;
}

export interface HubCallerClients extends HubClients {
  readonly caller: SingleClientProxy;
  readonly others: ClientProxy;
  readonly othersInGroup: (name: string) => ClientProxy;
}

export interface GroupManager {
  /** Resolves when the service acknowledged the change. */
  add(connectionId: string, group: string): Promise<void>;
  remove(connectionId: string, group: string): Promise<void>;
}

/** What a shutdown hook (and code outside a hub call) gets: IHubContext. */
export interface HubContext {
  readonly hub: string;
  readonly serverId: string;
  readonly clients: HubClients;
  readonly groups: GroupManager;
}

/** Thrown from a hub method, its message reaches the caller (like .NET's HubException). */
export class HubException extends Error {
  override name = "HubException";
}

/**
 * Base class of the kit's hubs. Public methods are callable by clients, case-insensitively.
 * An `async *method()` streams to the client (`connection.stream()`); for a method that
 * returns another async iterable, list it in `static streamingMethods = ["name"]`.
 * Client-to-server streams: `static streamArguments = { upload: [0] }` names the parameter
 * positions that receive an AsyncIterable fed by the client's stream (a Subject in JS).
 */
export class Hub {
  /** Methods that return an async iterable without being `async *` methods. */
  static streamingMethods?: readonly string[];
  /** Method name → parameter positions that receive a client-to-server stream. */
  static streamArguments?: Readonly<Record<string, readonly number[]>>;

  // Assigned by the dispatcher before any call; declared here for the hub author's types.
  context!: HubCallerContext;
  clients!: HubCallerClients;
  groups!: GroupManager;

  onConnected(): void | Promise<void> {}
  onDisconnected(_error?: Error): void | Promise<void> {}
}

export type HubClass = new () => Hub;

/** Names a client may not call: the base class's own members. */
export const RESERVED_METHODS = new Set(["constructor", "onconnected", "ondisconnected", "context", "clients", "groups"]);
