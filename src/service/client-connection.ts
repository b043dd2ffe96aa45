// One client connection on the service, whatever its transport: the handshake (in either
// frame type), the hub protocol's record framing (JSON 0x1E records or MessagePack varint
// frames) read incrementally under the message size limit, the send-queue bound, and
// stateful reconnect. It knows nothing of servers: it hands complete records to its owner,
// untouched, and relays what it is given, untouched — only pings, closes, acks and
// sequence messages are its own business.
import { FramingError, RecordReader, VarintFrameReader } from "../protocol/frame-reader.js";
import { framedRecords } from "../protocol/framed-records.js";
import { hubProtocol, type HubProtocol } from "../protocol/hub-protocol.js";
import { InvalidDataError, MessageType, RECORD_SEPARATOR_CODE, parseHandshake, type HandshakeRequest } from "../protocol/json-hub-protocol.js";
import type { ClientTransport } from "./client-transport.js";
import { frame } from "../protocol/varint-framing.js";
import { MessageBuffer } from "./message-buffer.js";
import { decodeRecord, isSequenced, peekJsonType, peekMessagePackType } from "./message-peek.js";

export interface ClientConnectionLimits {
  /** Largest hub message (and handshake) accepted from the client. */
  maxMessageBytes: number;
  /** Above this many bytes waiting to reach the client, stop reading from it (backpressure). */
  sendQueuePauseBytes: number;
  /** Above this many, drop the client with a Close saying why. */
  maxSendQueueBytes: number;
  /** Unacknowledged bytes kept for stateful reconnect (StatefulReconnectBufferSize). */
  statefulReconnectBufferBytes: number;
}

export interface ClientConnectionInit {
  id: string;
  hub: string;
  userId: string | undefined;
  claims: Record<string, string>;
  headers: Record<string, string[]>;
  /** The query string of the client's connect request (without `id` and `access_token`). */
  queryString: string;
  transport: ClientTransport;
  limits: ClientConnectionLimits;
  /** Negotiate answered `useStatefulReconnect: true`; it takes effect with a version-2 handshake. */
  statefulReconnect: boolean;
}

export interface ClientConnectionEvents {
  /** The handshake arrived and is valid for this service; route it (or close the connection). */
  onHandshake(conn: ClientConnection, request: HandshakeRequest, record: Uint8Array): void;
  /** Complete hub records with their framing, in order, ready for the app server. */
  onRecords(conn: ClientConnection, records: Uint8Array): void;
  onClosed(conn: ClientConnection): void;
  /** Stateful reconnect: the transport dropped, the connection waits for its client (`resent` undefined), or the client came back. */
  onTransportChange(conn: ClientConnection, change: { lost: true } | { resent: number }): void;
}

const ACK_INTERVAL_MS = 1_000;
const READY_GRACE_MS = 1_000;

export class ClientConnection {
  readonly id: string;
  readonly hub: string;
  readonly userId: string | undefined;
  readonly claims: Record<string, string>;
  readonly headers: Record<string, string[]>;
  readonly queryString: string;
  readonly groups = new Set<string>();
  readonly connectedAt = Date.now();
  /** The handshake record as the client sent it (with its separator), replayed to a server it migrates to. */
  handshakeRecord: Uint8Array | undefined;
  /** The hub protocol agreed in the handshake. */
  protocol: HubProtocol | undefined;
  /**
   * The app server's handshake answer has reached the client. Until then nothing else may
   * be sent to it (the client rejects anything before the handshake response), so
   * broadcasts skip the connection.
   */
  answered = false;
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  closed = false;
  /** Stateful reconnect is on (negotiated and a version-2 handshake). */
  buffer: MessageBuffer | undefined;
  /** Since when the transport is gone and a stateful reconnect is awaited. */
  detachedSince: number | undefined;
  private transport: ClientTransport | undefined;
  private readonly limits: ClientConnectionLimits;
  private readonly statefulAllowed: boolean;
  private handshakeReader: RecordReader | undefined;
  private reader: RecordReader | VarintFrameReader | undefined;
  /** Sequenced messages held back while the replay buffer is full (waiting for an Ack). */
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  /**
   * Stateful reconnect: the client counts the messages it receives only once its start()
   * has resumed after the handshake (the JS client creates its MessageBuffer then), so a
   * message that lands in the same read as the handshake answer would go uncounted and the
   * two sides' sequence ids would drift. Sequenced messages wait until the client has sent
   * something after its handshake (the JS client pings right away), at most READY_GRACE_MS.
   */
  private clientCounting = false;
  private readyTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private paused = false;
  /** The Close is being written: the queue checks must not recurse into another close. */
  private closing = false;

  constructor(init: ClientConnectionInit, private readonly events: ClientConnectionEvents) {
    this.id = init.id;
    this.hub = init.hub;
    this.userId = init.userId;
    this.claims = init.claims;
    this.headers = init.headers;
    this.queryString = init.queryString;
    this.limits = init.limits;
    this.statefulAllowed = init.statefulReconnect;
    this.handshakeReader = new RecordReader(this.limits.maxMessageBytes);
    this.attach(init.transport);
  }

  get transportKind(): ClientTransport["kind"] | undefined {
    return this.transport?.kind;
  }

  get handshakeDone(): boolean {
    return this.handshakeRecord !== undefined;
  }

  get binary(): boolean {
    return this.protocol?.name === "messagepack";
  }

  /** True when a record is half-received: migrating now would cut a message in two. */
  get hasPartialMessage(): boolean {
    return (this.reader?.bufferedBytes ?? 0) > 0;
  }

  /** Bytes waiting to reach the client: the transport's queue plus messages held for an Ack. */
  get queuedBytes(): number {
    return (this.transport?.bufferedBytes ?? 0) + this.waitingBytes;
  }

  /** A stateful-reconnect client came back on a new transport: resend what it has not acked. */
  reattach(transport: ClientTransport): void {
    if (this.closed || !this.buffer) return transport.terminate();
    this.detachedSince = undefined;
    this.attach(transport);
    const { sequenceId, messages } = this.buffer.resend();
    this.rawSend(this.protocol!.write({ type: MessageType.Sequence, sequenceId }));
    for (const m of messages) this.rawSend(m);
    this.events.onTransportChange(this, { resent: messages.length });
  }

  /** Test hook and chaos: the transport drops as a network would, the connection stays if it can. */
  dropTransport(): void {
    const t = this.transport;
    if (!t) return;
    this.onTransportEnd(true);
    t.terminate();
  }

  /** The app server's handshake answer (JSON text whatever the protocol): from now on the client may be sent anything. */
  answerHandshake(answer: Uint8Array): void {
    if (this.closed) return;
    this.answered = true;
    this.rawSend(answer);
  }

  /** Hub messages from the app server for this client, whole records, relayed as they are. */
  deliver(payload: Uint8Array): void {
    if (this.closed) return;
    if (!this.buffer) return this.rawSend(payload);
    // Stateful reconnect numbers each sequenced record, so the payload is cut into records.
    for (const record of framedRecords(payload, this.binary)) {
      const type = this.binary ? peekMessagePackType(skipPrefix(record)) : peekJsonType(record.subarray(0, record.length - 1));
      if (!isSequenced(type)) {
        if (this.transport) this.rawSend(record);
        continue;
      }
      if (this.waiting.length > 0 || this.buffer.full || !this.clientCounting) {
        this.waiting.push(record);
        this.waitingBytes += record.length;
        this.checkQueue();
        continue;
      }
      this.buffer.add(record);
      if (this.transport) this.rawSend(record);
    }
  }

  /** A keep-alive ping in the connection's protocol. */
  ping(): void {
    if (this.protocol && this.answered && this.transport) this.rawSend(this.protocol.write({ type: MessageType.Ping }));
  }

  /** Ends the connection; with an error (or allowReconnect) the client first receives a Close carrying it. */
  close(error?: string, allowReconnect = false): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    if (error !== undefined || allowReconnect) {
      const close = { type: MessageType.Close as const, ...(error !== undefined ? { error } : {}), ...(allowReconnect ? { allowReconnect } : {}) };
      // Before the handshake the protocol is unknown: the JSON form is what a client can read then.
      this.rawSend((this.protocol ?? hubProtocol("json")!).write(close));
    }
    this.finish();
    this.transport?.close();
  }

  /** Abrupt: no Close message, no close frame. */
  terminate(): void {
    if (this.closed) return;
    this.finish();
    this.transport?.terminate();
  }

  /** The send queue grew: pause reading above the first bound, drop the client above the second. */
  checkQueue(): void {
    if (this.closed || this.closing) return;
    const queued = this.queuedBytes;
    if (queued > this.limits.maxSendQueueBytes) {
      // The Close joins the queue it is about: a slow reader may still get it, a deaf one won't.
      this.close(`Connection closed with an error. The client did not read: more than ${this.limits.maxSendQueueBytes}B were waiting to be sent to it.`);
      return;
    }
    if (!this.paused && queued > this.limits.sendQueuePauseBytes) {
      this.paused = true;
      this.transport?.pause();
    } else if (this.paused && queued <= this.limits.sendQueuePauseBytes / 2) {
      this.paused = false;
      this.transport?.resume();
    }
  }

  private attach(transport: ClientTransport): void {
    this.transport = transport;
    this.paused = false;
    transport.attach({
      onData: (data, binary) => {
        if (this.transport === transport) this.receive(data, binary);
      },
      onEnd: (abrupt) => {
        if (this.transport === transport) this.onTransportEnd(abrupt);
      },
      onDrain: () => {
        if (this.transport === transport && this.paused) this.checkQueue();
      },
    });
  }

  private onTransportEnd(abrupt: boolean): void {
    if (this.closed) return;
    this.transport = undefined;
    // Stateful reconnect: an abrupt drop keeps the connection (and its server) for the client's one quick retry.
    if (abrupt && this.buffer) {
      this.detachedSince = Date.now();
      this.events.onTransportChange(this, { lost: true });
      return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.ackTimer);
    clearTimeout(this.readyTimer);
    this.waiting = [];
    this.waitingBytes = 0;
    this.events.onClosed(this);
  }

  private rawSend(bytes: Uint8Array): void {
    if (this.closed || !this.transport) return;
    this.lastSentAt = Date.now();
    this.transport.send(bytes, this.binary && this.transport.binary);
    if (this.transport.bufferedBytes > this.limits.sendQueuePauseBytes || this.paused) this.checkQueue();
  }

  private receive(data: Uint8Array, binary: boolean | undefined): void {
    if (this.closed) return;
    this.lastReceivedAt = Date.now();
    try {
      if (this.handshakeReader) {
        this.handshakeReader.push(data);
        const record = this.handshakeReader.next();
        if (!record) return;
        const rest = this.handshakeReader.drain();
        this.handshakeReader = undefined;
        if (!this.handshake(record)) return;
        if (rest.length === 0) return;
        data = rest;
        binary = undefined; // the rest of a handshake frame is whatever the protocol says
      }
      if (!this.reader || !this.protocol) return;
      if (binary === true && !this.binary) throw new InvalidDataError("Binary frames are not valid for the JSON protocol.");
      if (this.relayWholeFrame(data)) return;
      this.reader.push(data);
      this.readRecords();
    } catch (e) {
      if (e instanceof InvalidDataError || e instanceof FramingError) return this.fail(e.message);
      throw e;
    }
  }

  /**
   * The common case, without a copy: a frame that is exactly one hub message, nothing half
   * read before it, a type the service only relays. It goes to the app server as it came.
   */
  private relayWholeFrame(data: Uint8Array): boolean {
    if (this.buffer || this.reader!.bufferedBytes > 0 || data.length === 0) return false;
    let type: MessageType;
    if (this.binary) {
      let length = 0;
      let i = 0;
      for (let shift = 0; i < 5; shift += 7) {
        const b = data[i++]!;
        length += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) break;
      }
      if (i + length !== data.length || length > this.limits.maxMessageBytes) return false;
      type = peekMessagePackType(data.subarray(i));
    } else {
      const end = data.length - 1;
      if (data[end] !== RECORD_SEPARATOR_CODE || end > this.limits.maxMessageBytes || data.indexOf(RECORD_SEPARATOR_CODE) !== end) return false;
      type = peekJsonType(data.subarray(0, end));
    }
    if (!isSequenced(type)) return false; // pings, closes, acks: the general path reads them
    if (!this.clientCounting) this.clientIsCounting();
    this.events.onRecords(this, data);
    return true;
  }

  private readRecords(): void {
    const forward: Uint8Array[] = [];
    const flush = () => {
      if (forward.length > 0) this.events.onRecords(this, forward.length === 1 ? forward[0]! : Buffer.concat(forward));
      forward.length = 0;
    };
    try {
      for (let body = this.reader!.next(); body && !this.closed; body = this.reader!.next()) {
        if (!this.clientCounting) this.clientIsCounting();
        const type = this.binary ? peekMessagePackType(body) : peekJsonType(body);
        // The records the service consumes itself are small: read them in full, so a malformed
        // one gets its error here (the app server checks the ones it receives).
        const own = type === MessageType.Ping || type === MessageType.Close || type === MessageType.Ack || type === MessageType.Sequence;
        const message = own ? decodeRecord(body, this.binary) : undefined;
        // Keep-alive is the service's business; the app server never sees client pings.
        if (type === MessageType.Ping) continue;
        if (type === MessageType.Close) {
          flush();
          return this.close();
        }
        if (this.buffer) {
          if (type === MessageType.Ack) {
            this.onAck(message!);
            continue;
          }
          if (!this.buffer.shouldProcess(isSequenced(type), type === MessageType.Sequence)) continue;
          if (type === MessageType.Sequence) {
            const m = message!;
            const error = m.type === MessageType.Sequence ? this.buffer.resetSequence(m.sequenceId) : undefined;
            if (error) throw new InvalidDataError(error);
            continue;
          }
          if (isSequenced(type)) this.scheduleAck();
        } else if (type === MessageType.Ack || type === MessageType.Sequence) continue; // meaningless without stateful reconnect
        forward.push(this.binary ? frame(body) : withSeparator(body));
      }
    } finally {
      if (!this.closed) flush();
    }
  }

  private onAck(m: { type: MessageType; sequenceId?: number }): void {
    if (m.type !== MessageType.Ack || m.sequenceId === undefined || !this.buffer) return;
    this.buffer.ack(m.sequenceId);
    this.release();
  }

  /** Numbers and sends the messages held back, in order, while the buffer has room. */
  private release(): void {
    if (!this.buffer || !this.clientCounting) return;
    while (this.waiting.length > 0 && !this.buffer.full) {
      const record = this.waiting.shift()!;
      this.waitingBytes -= record.length;
      this.buffer.add(record);
      if (this.transport) this.rawSend(record);
    }
    this.checkQueue();
  }

  private clientIsCounting(): void {
    if (this.clientCounting) return;
    this.clientCounting = true;
    clearTimeout(this.readyTimer);
    this.release();
  }

  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      const id = this.buffer?.takeAck();
      if (id !== undefined && this.transport && this.protocol) this.rawSend(this.protocol.write({ type: MessageType.Ack, sequenceId: id }));
    }, ACK_INTERVAL_MS);
    this.ackTimer.unref();
  }

  /** Checks the handshake against what the service speaks; false when it was refused. */
  private handshake(record: Uint8Array): boolean {
    let request: HandshakeRequest;
    try {
      request = parseHandshake(Buffer.from(record.buffer, record.byteOffset, record.byteLength).toString("utf8"));
    } catch (e) {
      this.refuseHandshake((e as Error).message);
      return false;
    }
    const protocol = hubProtocol(request.protocol);
    if (!protocol) return this.refuseHandshake(`The protocol '${request.protocol}' is not supported.`);
    if (!Number.isInteger(request.version) || request.version < 1 || request.version > protocol.maxVersion)
      return this.refuseHandshake(`The server does not support version ${request.version} of the '${request.protocol}' protocol.`);
    if (protocol.name === "messagepack" && this.transport && !this.transport.binary)
      return this.refuseHandshake(`Cannot use the '${protocol.name}' protocol on the current transport. The transport does not support 'Binary' transfer format.`);
    this.protocol = protocol;
    this.reader = protocol.name === "messagepack" ? new VarintFrameReader(this.limits.maxMessageBytes) : new RecordReader(this.limits.maxMessageBytes);
    // Stateful reconnect starts with version 2 of either protocol (an older client sends 1 and goes without).
    if (this.statefulAllowed && request.version >= 2) {
      this.buffer = new MessageBuffer(this.limits.statefulReconnectBufferBytes);
      this.readyTimer = setTimeout(() => this.clientIsCounting(), READY_GRACE_MS);
      this.readyTimer.unref();
    } else this.clientCounting = true;
    this.handshakeRecord = withSeparator(record);
    this.events.onHandshake(this, request, this.handshakeRecord);
    return !this.closed;
  }

  /** Answers the handshake with an error and ends the connection (the client's start() rejects with it). */
  refuseHandshake(error: string): false {
    this.rawSend(Buffer.from(JSON.stringify({ error }) + "\u001e"));
    this.finish();
    this.transport?.close();
    return false;
  }

  /** Bad input from this client: it alone gets a Close with the reason. */
  private fail(reason: string): void {
    this.close(`Connection closed with an error. InvalidDataException: ${reason}`);
  }
}

function withSeparator(record: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(record.length + 1);
  out.set(record, 0);
  out[record.length] = RECORD_SEPARATOR_CODE;
  return out;
}

function skipPrefix(record: Uint8Array): Uint8Array {
  let i = 0;
  while (i < record.length && record[i]! & 0x80) i++;
  return record.subarray(i + 1);
}
