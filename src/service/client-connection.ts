// One client's WebSocket on the service: handshake, record framing, size limit,
// keep-alive bookkeeping. It knows nothing of servers: it hands complete, validated
// records to its owner and sends what it is given.
import type { WebSocket } from "ws";
import {
  InvalidDataError,
  MessageType,
  closeRecord,
  parseHandshake,
  parseMessage,
  splitRecords,
  type HandshakeRequest,
} from "../protocol/json-hub-protocol.js";

export interface ClientConnectionInit {
  id: string;
  hub: string;
  userId: string | undefined;
  claims: Record<string, string>;
  headers: Record<string, string[]>;
  ws: WebSocket;
  maxMessageBytes: number;
}

export interface ClientConnectionEvents {
  /** The handshake record arrived and parsed; answer it (or reject it) through the connection. */
  onHandshake(conn: ClientConnection, request: HandshakeRequest, record: string): void;
  /** Complete hub records (each with its separator), in order, ready for the app server. */
  onRecords(conn: ClientConnection, records: string): void;
  onClosed(conn: ClientConnection): void;
}

export class ClientConnection {
  readonly id: string;
  readonly hub: string;
  readonly userId: string | undefined;
  readonly claims: Record<string, string>;
  readonly headers: Record<string, string[]>;
  readonly groups = new Set<string>();
  readonly connectedAt = Date.now();
  /** The handshake record as the client sent it, replayed to a server it migrates to. */
  handshakeRecord: string | undefined;
  /**
   * The app server's handshake answer has reached the client. Until then nothing else may
   * be sent to it (the client rejects anything before the handshake response), so
   * broadcasts skip the connection.
   */
  answered = false;
  lastReceivedAt = Date.now();
  lastSentAt = Date.now();
  closed = false;
  private partial = "";
  private readonly ws: WebSocket;
  private readonly maxMessageBytes: number;

  constructor(init: ClientConnectionInit, private readonly events: ClientConnectionEvents) {
    this.id = init.id;
    this.hub = init.hub;
    this.userId = init.userId;
    this.claims = init.claims;
    this.headers = init.headers;
    this.ws = init.ws;
    this.maxMessageBytes = init.maxMessageBytes;
    this.ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    this.ws.on("close", () => this.onSocketClosed());
    this.ws.on("error", () => this.onSocketClosed());
  }

  get handshakeDone(): boolean {
    return this.handshakeRecord !== undefined;
  }

  /** True when a record is half-received: migrating now would cut a message in two. */
  get hasPartialMessage(): boolean {
    return this.partial.length > 0;
  }

  send(text: string | Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.lastSentAt = Date.now();
    this.ws.send(typeof text === "string" ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString("utf8"));
  }

  /** Ends the connection; with an error the client first receives a Close carrying it. */
  close(error?: string, allowReconnect = false): void {
    if (this.closed) return;
    if (error !== undefined || allowReconnect) this.send(closeRecord(error, allowReconnect));
    this.closed = true;
    this.ws.close(1000);
    this.events.onClosed(this);
  }

  /** Abrupt: no Close message, no close frame. */
  terminate(): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.terminate();
    this.events.onClosed(this);
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.onClosed(this);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.lastReceivedAt = Date.now();
    if (isBinary) return this.fail("Binary frames are not valid for the JSON protocol.");
    const { records, rest } = splitRecords(this.partial + data.toString("utf8"));
    this.partial = rest;
    if (Buffer.byteLength(rest) > this.maxMessageBytes) return this.fail(`The maximum message size of ${this.maxMessageBytes}B was exceeded.`);
    let forward = "";
    for (const record of records) {
      if (this.closed) return;
      if (Buffer.byteLength(record) > this.maxMessageBytes) return this.fail(`The maximum message size of ${this.maxMessageBytes}B was exceeded.`);
      if (!this.handshakeDone) {
        let request: HandshakeRequest;
        try {
          request = parseHandshake(record);
        } catch (e) {
          this.send(JSON.stringify({ error: (e as Error).message }) + "\u001e");
          this.close();
          return;
        }
        this.handshakeRecord = record + "\u001e";
        this.events.onHandshake(this, request, this.handshakeRecord);
        continue;
      }
      let type: MessageType;
      try {
        type = parseMessage(record).type;
      } catch (e) {
        if (forward) this.events.onRecords(this, forward);
        return this.fail((e as InvalidDataError).message);
      }
      // Keep-alive is the service's business; the app server never sees client pings.
      if (type === MessageType.Ping) continue;
      if (type === MessageType.Close) {
        if (forward) this.events.onRecords(this, forward);
        this.close();
        return;
      }
      forward += record + "\u001e";
    }
    if (forward && !this.closed) this.events.onRecords(this, forward);
  }

  /** Bad input from this client: it alone gets a Close with the reason. */
  private fail(reason: string): void {
    this.close(`Connection closed with an error. InvalidDataException: ${reason}`);
  }
}
