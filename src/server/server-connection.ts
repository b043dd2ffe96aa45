// One client connection as the app server sees it, dispatched like ASP.NET Core's
// HubConnectionHandler + DefaultHubDispatcher: the handshake picks the hub protocol (the
// answer is swallowed for a connection migrated in), onConnected runs, then messages are
// read one by one. A non-streaming invocation needs a slot (one per client by default)
// and the reader waits for it: a flooding client is paused, its unread bytes bounded.
// Everything is refused before any hub code runs when it cannot succeed (unknown method,
// wrong mode, stream count, id in use). When the connection ends, what it had already sent
// is still read and run (its answers go nowhere), then onDisconnected runs — without
// waiting for a call still running, as ASP.NET Core. When the server dies, nothing more
// runs at all. With a delivery ledger, a connection that migrates away hands the delivery
// marker it still holds over to its new server (see delivery-dedup.ts).
import { DELIVERY_METHOD, HELLO_METHOD } from "../protocol/conventions.js";
import { parseDeliveryId, type DeliveryId, type DeliveryLedger } from "./delivery-dedup.js";
import { FramingError, RecordReader } from "../protocol/frame-reader.js";
import { hubProtocol, type HubProtocol } from "../protocol/hub-protocol.js";
import {
  InvalidDataError,
  MessageType,
  parseHandshake,
  type CompletionMessage,
  type HubMessage,
  type InvocationMessage,
  type StreamInvocationMessage,
} from "../protocol/json-hub-protocol.js";
import { ClientStream } from "./client-stream.js";
import { callerClients, type HubTransport } from "./hub-clients.js";
import { hubMethods, type HubMethod } from "./hub-methods.js";
import { Hub, HubException, type GroupManager, type HubCallerContext, type HubClass, type HubClients, type Migration } from "./hub.js";
import { InvocationLimit, type Slot } from "./invocation-limit.js";

export interface ConnectionLimits {
  /** Hub invocations of one client running at once (ASP.NET Core's MaximumParallelInvocationsPerClient). */
  maxParallelInvocations: number;
  /** Unread bytes held for a client whose reader is paused; over it, the client is closed with the reason. */
  maxPendingInputBytes: number;
  /** How long `clients.client(id).invoke()` waits for the client's answer. */
  clientResultTimeoutMs: number;
}

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
  /** Send the `graceful.hello` convention message after the handshake. */
  hello: boolean;
  limits: ConnectionLimits;
  /** De-duplicates and orders the SDK's deliveries (shared by the servers); without it markers are ignored. */
  deliveries?: DeliveryLedger | undefined;
  /** Bytes for this client, on the link it arrived on. */
  deliver(payload: Uint8Array): Promise<void>;
  /** Asks the service to close this client with an error it receives. */
  closeWithError(error: string): void;
  /**
   * The client answered a client result (a Completion that is not a stream's): `callerServerId`
   * names the server that asked when the service routed the request here from another one.
   */
  onClientResult(completion: CompletionMessage, callerServerId: string | undefined): void;
  log(message: string): void;
  /** The connection ended here, after onDisconnected (not called when the server died). */
  onEnded(conn: ServerConnection): void;
}

type Phase = "handshake" | "open" | "ended" | "dead";

const failedToInvoke = (target: string, detail: string) => `Failed to invoke '${target}' due to an error on the server. ${detail}`;
const unexpected = (target: string, e?: unknown) =>
  `An unexpected error occurred invoking '${target}' on the server.${e instanceof HubException ? ` HubException: ${e.message}` : ""}`;
const streamingError = (e?: unknown) => `An error occurred on the server while streaming results.${e instanceof HubException ? ` HubException: ${e.message}` : ""}`;

export class ServerConnection {
  readonly id: string;
  readonly items = new Map<string, unknown>();
  migration: Migration | undefined;
  protocol: HubProtocol | undefined;
  private phase: Phase = "handshake";
  private handshakeReader: RecordReader | undefined = new RecordReader();
  private reader: ReturnType<HubProtocol["reader"]> | undefined;
  private pumping = false;
  /** Asked the service to close it (bad input, a limit): nothing more is read. */
  private aborted = false;
  private readonly limit: InvocationLimit;
  /** The delivery id announced for the next invocation (DELIVERY_METHOD marker). */
  private delivery: DeliveryId | undefined;
  /**
   * The one sender this connection's markers may name (its first marker's): the SDK keeps one
   * client id per connection, and a connection naming a new sender per marker would fill the
   * shared ledger with records (evicting other clients' ones) at no cost of its own.
   */
  private sender: string | undefined;
  /** Migrated here and no invocation read yet: the first one may be a marker's message (takeHandover). */
  private handoverDue: boolean;
  /** Client results other servers asked this client for: invocation id → the caller server. */
  private readonly routed = new Map<string, string>();
  /** Server-to-client streams running, by invocation id. */
  private readonly outStreams = new Map<string, { cancelled: boolean }>();
  /** Client-to-server streams open, by stream id. */
  private readonly inStreams = new Map<string, ClientStream>();
  /** Settles once onConnected has run: onDisconnected never overtakes it. */
  private connected: Promise<void> = Promise.resolve();
  /** Hub invocations running now, and who waits for them to reach 0. */
  private running = 0;
  private runningDone: (() => void) | undefined;
  /** Settles when the reader stops (nothing complete left to read, or it gave up). */
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly o: ServerConnectionInit) {
    this.id = o.id;
    if (o.migratedFrom !== undefined) this.migration = { from: o.migratedFrom, to: o.serverId };
    this.handoverDue = o.migratedFrom !== undefined && o.deliveries !== undefined;
    this.limit = new InvocationLimit(o.limits.maxParallelInvocations);
  }

  /** Ended here (closed, migrated away) or dead with its server. */
  get isEnded(): boolean {
    return this.phase === "ended" || this.phase === "dead";
  }

  /** Bytes from the client (via the service), in any chunking. */
  receive(payload: Uint8Array): void {
    if (this.isEnded || this.aborted) return;
    const r = this.handshakeReader ?? this.reader!;
    r.push(payload);
    if (r.bufferedBytes > this.o.limits.maxPendingInputBytes) {
      this.fail(`The client sent more than ${this.o.limits.maxPendingInputBytes} bytes that the server has not read yet (maxPendingInputBytes); it must wait for its invocations to complete.`);
      return;
    }
    void this.pump();
  }

  /**
   * The service closed the connection (client left, or it migrated away). Messages it had
   * already delivered here are still run, in order — the service moves a client between two
   * messages, so they are this server's to run — but nothing more is written to the client.
   */
  close(error: string | undefined, migratedTo: string | undefined): void {
    if (this.isEnded) return;
    const wasOpen = this.phase === "open";
    this.phase = "ended";
    if (migratedTo !== undefined) this.migration = { from: this.o.serverId, to: migratedTo };
    if (!wasOpen) this.stopReading(); // never connected: nothing of it runs
    for (const s of this.outStreams.values()) s.cancelled = true;
    for (const s of this.inStreams.values()) s.complete(new Error("The underlying connection was closed."));
    this.inStreams.clear();
    void (async () => {
      await this.connected;
      await this.idle;
      if (this.phase === "dead") return;
      // Everything it sent here is read: a marker still pending is for a message the new server got.
      if (migratedTo !== undefined) this.o.deliveries?.handOver(this.id, this.delivery);
      this.delivery = undefined;
      if (wasOpen) await this.callHub((h) => h.onDisconnected(error ? new Error(error) : undefined), "onDisconnected");
      // Ended here once its calls still running are done too: a graceful shutdown lets them
      // finish (their broadcasts and stores count), within its budget.
      while (this.running > 0 && (this.phase as Phase) !== "dead") await new Promise<void>((r) => (this.runningDone = r));
      if ((this.phase as Phase) !== "dead") this.o.onEnded(this); // it may have died meanwhile
    })();
  }

  /** The server died (kill, or its shutdown finished): discard everything, run nothing more. */
  kill(): void {
    if (this.phase === "dead") return;
    this.phase = "dead";
    for (const s of this.outStreams.values()) s.cancelled = true;
    this.outStreams.clear();
    this.stopReading();
    this.inStreams.clear();
  }

  /** A hub message to this client in its protocol; discarded once the connection ended here. */
  async send(message: HubMessage): Promise<void> {
    if (this.isEnded || !this.protocol) return;
    await this.o.deliver(this.protocol.write(message));
  }

  /** The service says another server asked this client for a result: route its answer back. */
  routeResult(invocationId: string, callerServerId: string): void {
    if (!this.isEnded) this.routed.set(invocationId, callerServerId);
  }

  private stopReading(): void {
    this.limit.clear();
    this.handshakeReader = undefined;
    this.reader = undefined;
  }

  private fail(error: string): void {
    if (this.isEnded || this.aborted) return;
    this.aborted = true;
    this.o.closeWithError(error);
  }

  // ---- Reading ------------------------------------------------------------------------

  /** Reads and handles messages until none is complete or the reader must wait. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let done!: () => void;
    this.idle = new Promise((r) => (done = r));
    try {
      while (this.phase !== "dead" && !this.aborted) {
        if (this.handshakeReader) {
          const record = this.handshakeReader.next();
          if (!record) return;
          await this.handshake(record);
          continue;
        }
        const bytes = this.reader?.next();
        if (!bytes) return;
        let message: HubMessage;
        try {
          message = this.protocol!.parse(bytes);
        } catch (e) {
          this.fail(`Connection closed with an error. InvalidDataException: ${(e as InvalidDataError).message}`);
          return;
        }
        await this.handle(message);
      }
    } catch (e) {
      if (e instanceof FramingError) this.fail(`Connection closed with an error. InvalidDataException: ${e.message}`);
      else this.o.log(`connection ${this.id}: ${(e as Error).message}`);
    } finally {
      this.pumping = false;
      done();
    }
  }

  private async handshake(record: Uint8Array): Promise<void> {
    const leftover = this.handshakeReader!.drain();
    this.handshakeReader = undefined;
    let protocol: HubProtocol | undefined;
    try {
      const r = parseHandshake(Buffer.from(record).toString("utf8"));
      protocol = hubProtocol(r.protocol);
      if (!protocol || r.version < 1 || r.version > protocol.maxVersion) throw new InvalidDataError(`The protocol '${r.protocol}' version ${r.version} is not supported.`);
    } catch (e) {
      // The service closes the client after this answer, and then tells us.
      this.aborted = true;
      await this.o.deliver(Buffer.from(JSON.stringify({ error: (e as Error).message }) + "\u001e"));
      return;
    }
    this.protocol = protocol;
    this.reader = protocol.reader();
    this.reader.push(leftover);
    // A migrated-in client finished its handshake long ago: the answer is swallowed.
    if (this.migration === undefined) await this.o.deliver(Buffer.from("{}\u001e"));
    if (this.phase !== "handshake") return;
    this.phase = "open";
    if (this.o.hello) {
      const hello = this.migration ? { serverId: this.o.serverId, migratedFrom: this.migration.from } : { serverId: this.o.serverId };
      await this.send({ type: MessageType.Invocation, target: HELLO_METHOD, arguments: [hello] });
    }
    this.connected = this.callHub((h) => h.onConnected(), "onConnected");
    await this.connected;
  }

  private async handle(m: HubMessage): Promise<void> {
    switch (m.type) {
      case MessageType.Invocation:
        if (m.target === DELIVERY_METHOD) return this.markDelivery(m.arguments);
        return this.invocation(m);
      case MessageType.StreamInvocation:
        return this.invocation(m);
      case MessageType.StreamItem: {
        const s = this.inStreams.get(m.invocationId);
        if (!s) return this.o.log(`connection ${this.id}: stream item for unknown stream '${m.invocationId}'`);
        if (m.bindingError) {
          this.inStreams.delete(m.invocationId);
          return s.complete(new Error(`Failed to bind Stream message. InvalidDataException: ${m.bindingError}`));
        }
        return s.push(m.item); // waits while the hub method's buffer is full
      }
      case MessageType.Completion:
        return this.completion(m);
      case MessageType.CancelInvocation: {
        const s = this.outStreams.get(m.invocationId);
        if (s) s.cancelled = true;
        return;
      }
      default:
        // Pings, acks, sequence and close are the service's business.
        return;
    }
  }

  private completion(m: CompletionMessage): void {
    const s = this.inStreams.get(m.invocationId);
    if (s) {
      this.inStreams.delete(m.invocationId);
      return s.complete(m.error !== undefined ? new Error(m.error) : undefined);
    }
    const caller = this.routed.get(m.invocationId);
    this.routed.delete(m.invocationId);
    if (this.phase !== "dead") this.o.onClientResult(m, caller);
  }

  // ---- Invocations --------------------------------------------------------------------

  private markDelivery(args: unknown[]): void {
    const id = parseDeliveryId(args, this.o.userId);
    this.delivery = id && (this.sender ??= id.clientId) === id.clientId ? id : undefined;
    if (!id) this.o.log(`connection ${this.id}: malformed ${DELIVERY_METHOD} marker refused: ${JSON.stringify(args).slice(0, 200)}`);
    else if (!this.delivery) this.o.log(`connection ${this.id}: ${DELIVERY_METHOD} marker for a second sender refused (the first was ${this.sender})`);
  }

  private async invocation(m: InvocationMessage | StreamInvocationMessage): Promise<void> {
    // A delivery marker applies to the invocation right after it, whatever becomes of that one.
    let delivery = this.delivery;
    this.delivery = undefined;
    if (this.handoverDue) {
      this.handoverDue = false;
      // The service may have moved us between a send's marker (read by the old server) and the send.
      if (!delivery && m.type === MessageType.Invocation && this.o.deliveries) {
        delivery = await this.o.deliveries.takeHandover(this.id); // the reader waits: order holds
        if (this.phase === "dead") return;
      }
    }
    const isStreamResponse = m.type === MessageType.StreamInvocation;
    const id = m.invocationId;
    const method = hubMethods(this.o.hubClass).get(m.target.toLowerCase());
    if (!method) return this.completeWithError(id, failedToInvoke(m.target, "HubException: Method does not exist."));
    if (m.bindingError !== undefined) return this.completeWithError(id, failedToInvoke(m.target, `InvalidDataException: ${m.bindingError}`));
    const streamIds = m.streamIds ?? [];
    const expectedArgs = method.arity - method.streamArguments.length;
    if (m.arguments.length !== expectedArgs)
      return this.completeWithError(id, failedToInvoke(m.target, `InvalidDataException: Invocation provides ${m.arguments.length} argument(s) but target expects ${expectedArgs}.`));
    if (method.streams && !isStreamResponse)
      return this.completeWithError(id, `The client attempted to invoke the streaming '${m.target}' method with a non-streaming invocation.`);
    if (!method.streams && isStreamResponse)
      return this.completeWithError(id, `The client attempted to invoke the non-streaming '${m.target}' method with a streaming invocation.`);
    if (streamIds.length !== method.streamArguments.length)
      return this.completeWithError(id, `${unexpected(m.target)} HubException: Client sent ${streamIds.length} stream(s), Hub method expects ${method.streamArguments.length}.`);
    if (isStreamResponse && this.outStreams.has(id!)) return this.completeWithError(id, `Invocation ID '${id}' is already in use.`);
    const reused = streamIds.find((s, i) => this.inStreams.has(s) || streamIds.indexOf(s) !== i);
    if (reused !== undefined) return this.completeWithError(id, `${unexpected(m.target)} HubException: Stream ID '${reused}' is already in use.`);

    // A stream for a client that has gone would only be cancelled.
    if (isStreamResponse && this.isEnded) return;
    const args = this.bindStreams(method, m.arguments, streamIds);
    if (isStreamResponse) return this.stream(method, m.target, id!, args);
    if (streamIds.length > 0) {
      // Like ASP.NET Core, a call taking client streams runs outside the invocation limit:
      // the reader must go on reading the stream items it waits for.
      void this.run(method, m.target, id, args, undefined);
      return;
    }
    const slot = await this.limit.acquire(); // the reader waits here: backpressure
    if (this.phase === "dead") return slot.release();
    void this.run(method, m.target, id, args, slot, delivery);
  }

  private bindStreams(method: HubMethod, given: unknown[], streamIds: string[]): unknown[] {
    if (streamIds.length === 0) return given;
    const args: unknown[] = [];
    const rest = [...given];
    const streams = streamIds.map((sid) => {
      const s = new ClientStream(sid);
      this.inStreams.set(sid, s);
      return s;
    });
    for (let i = 0; i < method.arity; i++) args.push(method.streamArguments.includes(i) ? streams.shift() : rest.shift());
    return args;
  }

  private instance(slot?: Slot): Hub {
    const h = new this.o.hubClass();
    h.context = this.context();
    h.clients = callerClients(this.o.transport, this.o.clients, this.id, () => slot?.release());
    h.groups = this.o.groups;
    return h;
  }

  private context(): HubCallerContext {
    return {
      connectionId: this.id,
      userId: this.o.userId,
      claims: this.o.claims,
      migration: this.migration,
      items: this.items,
      serverId: this.o.serverId,
      abort: (error?: string) => this.fail(error ?? ""),
    };
  }

  private async callHub(fn: (h: Hub) => unknown, what: string): Promise<void> {
    try {
      await fn(this.instance());
    } catch (e) {
      this.o.log(`${what} of connection ${this.id} threw: ${(e as Error)?.message}`);
    }
  }

  private async run(method: HubMethod, target: string, id: string | undefined, args: unknown[], slot: Slot | undefined, delivery?: DeliveryId): Promise<void> {
    this.running++;
    try {
      const hub = this.instance(slot);
      const call = () => (hub as unknown as Record<string, (...a: unknown[]) => unknown>)[method.name]!.apply(hub, args);
      let result: unknown;
      try {
        if (delivery && this.o.deliveries) {
          // A copy of a delivery that already ran (a re-send after an interruption) is answered, not run.
          const outcome = await this.o.deliveries.run(delivery, call);
          result = outcome.duplicate ? undefined : outcome.result;
        } else {
          result = await call();
        }
      } catch (e) {
        if (this.phase === "dead") return;
        return await this.completeWithError(id, unexpected(target, e));
      }
      if (this.phase === "dead" || id === undefined) return;
      try {
        await this.send(result === undefined ? { type: MessageType.Completion, invocationId: id } : { type: MessageType.Completion, invocationId: id, result });
      } catch (e) {
        // The result could not be serialized: the caller still gets its answer.
        this.o.log(`connection ${this.id}: result of '${target}' could not be serialized: ${(e as Error).message}`);
        await this.completeWithError(id, `${unexpected(target)} The result could not be serialized.`);
      }
    } finally {
      slot?.release();
      if (--this.running === 0) {
        const done = this.runningDone;
        this.runningDone = undefined;
        done?.();
      }
      // Streams the method did not read to the end are finished, as ASP.NET Core's CleanupInvocation does.
      for (const [sid, s] of this.inStreams) if (args.includes(s)) (this.inStreams.delete(sid), s.complete());
    }
  }

  private async stream(method: HubMethod, target: string, id: string, args: unknown[]): Promise<void> {
    const state = { cancelled: false };
    this.outStreams.set(id, state);
    // Runs in the background so CancelInvocation (and everything else) is read meanwhile.
    void (async () => {
      let error: string | undefined;
      try {
        const hub = this.instance();
        let iterable: unknown;
        try {
          iterable = await (hub as unknown as Record<string, (...a: unknown[]) => unknown>)[method.name]!.apply(hub, args);
        } catch (e) {
          error = unexpected(target, e);
          return;
        }
        if (typeof (iterable as AsyncIterable<unknown>)?.[Symbol.asyncIterator] !== "function") {
          error = `The value returned by the streaming method '${method.name}' is not a ChannelReader<> or IAsyncEnumerable<>.`;
          return;
        }
        const it = (iterable as AsyncIterable<unknown>)[Symbol.asyncIterator]();
        try {
          for (;;) {
            if (state.cancelled) {
              if (this.phase !== "dead") await it.return?.();
              return;
            }
            const r = await it.next();
            if (r.done) return;
            if (this.isEnded) state.cancelled = true; // the client is gone: stop at the next turn
            if (state.cancelled) continue;
            try {
              await this.send({ type: MessageType.StreamItem, invocationId: id, item: r.value });
            } catch (e) {
              error = streamingError();
              this.o.log(`connection ${this.id}: stream item of '${target}' could not be serialized: ${(e as Error).message}`);
              await it.return?.();
              return;
            }
          }
        } catch (e) {
          if (!state.cancelled) error = streamingError(e);
        }
      } finally {
        if (this.outStreams.get(id) === state) this.outStreams.delete(id);
        for (const [sid, s] of this.inStreams) if (args.includes(s)) (this.inStreams.delete(sid), s.complete());
        if (this.phase !== "dead") await this.send(error !== undefined ? { type: MessageType.Completion, invocationId: id, error } : { type: MessageType.Completion, invocationId: id }).catch(() => {});
      }
    })();
  }

  private async completeWithError(invocationId: string | undefined, error: string): Promise<void> {
    if (invocationId === undefined) return this.o.log(`connection ${this.id}: ${error}`);
    await this.send({ type: MessageType.Completion, invocationId, error });
  }
}
