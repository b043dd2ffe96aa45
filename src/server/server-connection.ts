// One client connection as the app server sees it: answers the handshake (swallowed for
// a connection migrated in), runs onConnected, then dispatches hub messages one at a time
// (like ASP.NET Core's default of one parallel invocation per client), then onDisconnected.
import { DELIVERY_METHOD, HELLO_METHOD } from "../protocol/conventions.js";
import { parseDeliveryId, type DeliveryId, type DeliveryLedger } from "./delivery-dedup.js";
import {
  InvalidDataError,
  MessageType,
  formatMessage,
  parseHandshake,
  parseMessage,
  splitRecords,
  type HubMessage,
} from "../protocol/json-hub-protocol.js";
import { ServiceMessageType } from "../protocol/service-protocol.js";
import { callerClients, type HubTransport } from "./hub-clients.js";
import { Hub, HubException, RESERVED_METHODS, type HubCallerContext, type HubClass, type HubClients, type GroupManager, type Migration } from "./hub.js";

export interface ServerConnectionInit {
  id: string;
  hub: string;
  serverId: string;
  userId: string | undefined;
  claims: Record<string, string>;
  migratedFrom: string | undefined;
  hubClass: HubClass;
  transport: HubTransport;
  clients: HubClients;
  groups: GroupManager;
  /** Send the `graceful.hello` convention message on connect (default on). */
  hello: boolean;
  /** De-duplicates and orders the SDK's deliveries (shared by the servers); without it markers are ignored. */
  deliveries?: DeliveryLedger | undefined;
  log(message: string): void;
  /** The connection ended on this server (after onDisconnected). */
  onEnded(conn: ServerConnection): void;
}

const methodCache = new WeakMap<HubClass, Map<string, string>>();

/** Public hub methods by lower-cased name: .NET matches hub methods case-insensitively. */
function methodsOf(cls: HubClass): Map<string, string> {
  let m = methodCache.get(cls);
  if (m) return m;
  m = new Map();
  for (let p = cls.prototype; p && p !== Hub.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const name of Object.getOwnPropertyNames(p)) {
      const lower = name.toLowerCase();
      if (RESERVED_METHODS.has(lower) || name.startsWith("_") || m.has(lower)) continue;
      if (typeof Object.getOwnPropertyDescriptor(p, name)?.value === "function") m.set(lower, name);
    }
  methodCache.set(cls, m);
  return m;
}

const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> =>
  typeof v === "object" && v !== null && typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function";

export class ServerConnection {
  readonly id: string;
  readonly items = new Map<string, unknown>();
  migration: Migration | undefined;
  private handshakeDone = false;
  private ended = false;
  private partial = "";
  private queue: Promise<void> = Promise.resolve();
  private readonly streams = new Map<string, { cancelled: boolean }>();
  /** The delivery id announced for the next invocation (DELIVERY_METHOD marker). */
  private delivery: DeliveryId | undefined;

  constructor(private readonly o: ServerConnectionInit) {
    this.id = o.id;
    if (o.migratedFrom !== undefined) this.migration = { from: o.migratedFrom, to: o.serverId };
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Bytes from the client (via the service): whole records, possibly several. */
  receive(payload: Uint8Array): void {
    if (this.ended) return;
    const { records, rest } = splitRecords(this.partial + Buffer.from(payload).toString("utf8"));
    this.partial = rest;
    for (const record of records) {
      if (!this.handshakeDone) {
        this.handshakeDone = true;
        this.enqueue(() => this.handshake(record));
        continue;
      }
      let message: HubMessage;
      try {
        message = parseMessage(record);
      } catch (e) {
        // The service closes the client with this error, then tells us it is gone.
        this.abort(`Connection closed with an error. InvalidDataException: ${(e as InvalidDataError).message}`);
        return;
      }
      this.dispatch(message);
    }
  }

  /** The service closed the connection (client left, or it migrated away). */
  close(error: string | undefined, migratedTo: string | undefined): void {
    if (this.ended) return;
    this.ended = true;
    if (migratedTo !== undefined) this.migration = { from: this.o.serverId, to: migratedTo };
    for (const s of this.streams.values()) s.cancelled = true;
    this.enqueue(async () => {
      if (this.handshakeDone) await this.callHub((h) => h.onDisconnected(error ? new Error(error) : undefined), "onDisconnected");
      this.o.onEnded(this);
    });
  }

  /** Writes to this client unless the connection has ended here (then it is discarded). */
  private write(text: string): Promise<void> {
    if (this.ended) return Promise.resolve();
    return this.o.transport.sendToConnection(this.id, Buffer.from(text));
  }

  private abort(error?: string): void {
    if (this.ended) return;
    void this.o.transport.send({ type: ServiceMessageType.CloseConnection, connectionId: this.id, error: error ?? "", headers: {} });
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((e) => this.o.log(`connection ${this.id}: ${(e as Error).message}`));
  }

  private async handshake(record: string): Promise<void> {
    try {
      const r = parseHandshake(record);
      if (r.protocol !== "json" || r.version !== 1) throw new InvalidDataError(`The protocol '${r.protocol}' version ${r.version} is not supported.`);
    } catch (e) {
      await this.write(JSON.stringify({ error: (e as Error).message }) + "\u001e");
      return;
    }
    // A migrated-in client finished its handshake long ago: the answer is swallowed.
    if (this.migration === undefined) await this.write("{}\u001e");
    if (this.o.hello) {
      const hello = this.migration ? { serverId: this.o.serverId, migratedFrom: this.migration.from } : { serverId: this.o.serverId };
      await this.write(formatMessage({ type: MessageType.Invocation, target: HELLO_METHOD, arguments: [hello] }));
    }
    await this.callHub((h) => h.onConnected(), "onConnected");
  }

  private context(): HubCallerContext {
    return {
      connectionId: this.id,
      userId: this.o.userId,
      claims: this.o.claims,
      migration: this.migration,
      items: this.items,
      serverId: this.o.serverId,
      abort: (error?: string) => this.abort(error),
    };
  }

  private instance(): Hub {
    const h = new this.o.hubClass();
    h.context = this.context();
    h.clients = callerClients(this.o.transport, this.o.clients, this.id);
    h.groups = this.o.groups;
    return h;
  }

  private async callHub(fn: (h: Hub) => unknown, what: string): Promise<void> {
    try {
      await fn(this.instance());
    } catch (e) {
      this.o.log(`${what} of connection ${this.id} threw: ${(e as Error).message}`);
    }
  }

  private dispatch(m: HubMessage): void {
    switch (m.type) {
      case MessageType.Invocation:
        if (m.target === DELIVERY_METHOD) return this.enqueue(async () => this.markDelivery(m.arguments));
        if (m.streamIds?.length) return this.enqueue(() => this.complete(m.invocationId, { error: `Failed to invoke '${m.target}' due to an error on the server. HubException: Client to server streaming is not supported by this kit.` }));
        return this.enqueue(() => this.invoke(m.invocationId, m.target, m.arguments, false));
      case MessageType.StreamInvocation:
        return this.enqueue(() => this.invoke(m.invocationId, m.target, m.arguments, true));
      case MessageType.CancelInvocation: {
        const s = this.streams.get(m.invocationId);
        if (s) s.cancelled = true;
        return;
      }
      default:
        // Completions (client results), pings, acks: nothing to do in this kit.
        return;
    }
  }

  private async complete(invocationId: string | undefined, outcome: { result?: unknown; error?: string }): Promise<void> {
    if (invocationId === undefined) {
      if (outcome.error) this.o.log(`connection ${this.id}: ${outcome.error}`);
      return;
    }
    const m: Record<string, unknown> = { type: MessageType.Completion, invocationId };
    if (outcome.error !== undefined) m.error = outcome.error;
    else if (outcome.result !== undefined) m.result = outcome.result;
    await this.write(formatMessage(m));
  }

  private markDelivery(args: unknown[]): void {
    this.delivery = parseDeliveryId(args);
    if (!this.delivery) this.o.log(`connection ${this.id}: malformed ${DELIVERY_METHOD} marker refused: ${JSON.stringify(args).slice(0, 200)}`);
  }

  private async invoke(invocationId: string | undefined, target: string, args: unknown[], stream: boolean): Promise<void> {
    const delivery = this.delivery;
    this.delivery = undefined;
    if (delivery && this.o.deliveries && !stream) {
      const outcome = await this.o.deliveries.run(delivery, () => this.invokeOnce(invocationId, target, args, false));
      if (outcome.duplicate) await this.complete(invocationId, {});
      return;
    }
    return this.invokeOnce(invocationId, target, args, stream);
  }

  private async invokeOnce(invocationId: string | undefined, target: string, args: unknown[], stream: boolean): Promise<void> {
    const name = methodsOf(this.o.hubClass).get(target.toLowerCase());
    if (!name) return this.complete(invocationId, { error: `Failed to invoke '${target}' due to an error on the server. HubException: Method does not exist.` });
    const hub = this.instance();
    const fn = (hub as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
    if (args.length !== fn.length)
      return this.complete(invocationId, { error: `Failed to invoke '${target}' due to an error on the server. InvalidDataException: Invocation provides ${args.length} argument(s) but target expects ${fn.length}.` });
    let result: unknown;
    try {
      result = await fn.apply(hub, args);
    } catch (e) {
      const detail = e instanceof HubException ? ` HubException: ${e.message}` : "";
      return this.complete(invocationId, { error: `An unexpected error occurred invoking '${target}' on the server.${detail}` });
    }
    if (!stream) return this.complete(invocationId, { result });
    if (!isAsyncIterable(result) || invocationId === undefined)
      return this.complete(invocationId, { error: `An unexpected error occurred invoking '${target}' on the server. The method does not return a stream.` });
    // Stream in the background so CancelInvocation can be read while it runs.
    const state = { cancelled: false };
    this.streams.set(invocationId, state);
    void (async () => {
      try {
        for await (const item of result as AsyncIterable<unknown>) {
          if (state.cancelled) break;
          await this.write(formatMessage({ type: MessageType.StreamItem, invocationId, item }));
        }
        await this.complete(invocationId, {});
      } catch {
        await this.complete(invocationId, { error: `An error occurred on the server while streaming results from '${target}'.` });
      } finally {
        this.streams.delete(invocationId);
      }
    })();
  }
}
