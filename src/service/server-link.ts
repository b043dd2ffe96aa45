// One WebSocket between an app server and the service ("server connection"): the service-protocol
// handshake, then a stream of service messages, many client connections multiplexed over it.
// Its identity is its token's: the service decided the server id before the upgrade. It pings
// when idle and drops a link that goes silent, as the real service does (the real SDK pings
// every 5 s and gives up on a service silent for 30 s), and it never queues without bound for a
// server that doesn't read.
import type { WebSocket } from "ws";
import {
  SERVICE_PROTOCOL_VERSION,
  ServiceMessageType,
  ServiceProtocolError,
  decodeServiceMessages,
  encodeServiceMessage,
  encodeServiceMessages,
  type ServiceMessage,
} from "../protocol/service-protocol.js";

export interface ServerLinkEvents {
  onReady(link: ServerLink): void;
  onMessage(link: ServerLink, message: ServiceMessage): void;
  onClosed(link: ServerLink, abrupt: boolean): void;
  /** Bad input or a broken limit on this link; the link is being closed with this reason. */
  onRefused(link: ServerLink, reason: string): void;
}

export interface ServerLinkLimits {
  handshakeTimeoutMs: number;
  /** Send an empty ping after this long without sending (the real service: 5 s). */
  pingIntervalMs: number;
  /** Drop the link after this long without receiving anything (the real SDK's own bound: 30 s). */
  timeoutMs: number;
  /** Bytes queued for the server beyond which the link is dropped: it is not reading. */
  maxBufferedBytes: number;
}

export const DEFAULT_SERVER_LINK_LIMITS: ServerLinkLimits = {
  handshakeTimeoutMs: 15_000,
  pingIntervalMs: 5_000,
  timeoutMs: 30_000,
  maxBufferedBytes: 1024 * 1024,
};

const EMPTY_PING = encodeServiceMessage({ type: ServiceMessageType.Ping, pairs: [] });

export class ServerLink {
  ready = false;
  closed = false;
  private lastReceivedAt = Date.now();
  private lastSentAt = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly id: string,
    readonly hub: string,
    readonly serverId: string,
    private readonly ws: WebSocket,
    private readonly events: ServerLinkEvents,
    private readonly limits: ServerLinkLimits,
  ) {
    const connectedAt = Date.now();
    const tick = Math.max(5, Math.min(limits.handshakeTimeoutMs, limits.pingIntervalMs, limits.timeoutMs) / 3);
    this.timer = setInterval(() => {
      const now = Date.now();
      if (!this.ready) {
        // A link that never completes its handshake must not hold a socket forever.
        if (now - connectedAt >= limits.handshakeTimeoutMs) this.refuseHandshake("Handshake timed out.");
      } else if (now - this.lastReceivedAt >= limits.timeoutMs) {
        this.drop(`Server connection timed out: nothing received for ${limits.timeoutMs} ms.`);
      } else if (now - this.lastSentAt >= limits.pingIntervalMs) this.write(EMPTY_PING);
    }, tick);
    this.timer.unref();
    ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    // A close frame is an orderly end; anything else (reset, terminate) is abrupt.
    ws.on("close", (code: number) => this.onSocketClosed(code !== 1000 && code !== 1001));
    ws.on("error", () => this.onSocketClosed(true));
  }

  send(message: ServiceMessage): void {
    this.write(encodeServiceMessage(message));
  }

  sendMany(messages: ServiceMessage[]): void {
    if (messages.length > 0) this.write(encodeServiceMessages(messages));
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.ws.close(code, reason);
  }

  private write(bytes: Uint8Array): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    // Backpressure: a server that doesn't read must not grow the service's memory.
    if (this.ws.bufferedAmount + bytes.length > this.limits.maxBufferedBytes) {
      this.drop(`Server connection send queue exceeded ${this.limits.maxBufferedBytes} bytes: the server is not reading.`);
      return;
    }
    this.lastSentAt = Date.now();
    this.ws.send(bytes);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    this.lastReceivedAt = Date.now();
    let messages: ServiceMessage[];
    try {
      if (!isBinary) throw new ServiceProtocolError("The service protocol uses binary frames.");
      messages = decodeServiceMessages(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      const reason = (e as Error).message;
      return this.ready ? this.drop(reason, 1008) : this.refuseHandshake(reason);
    }
    for (const m of messages) {
      if (this.closed) return;
      if (!this.ready) {
        if (m.type !== ServiceMessageType.HandshakeRequest) return this.refuseHandshake("Expected a handshake request first.");
        if (m.version !== SERVICE_PROTOCOL_VERSION) return this.refuseHandshake(`Protocol version ${m.version} is not supported.`);
        this.ready = true;
        this.send({ type: ServiceMessageType.HandshakeResponse, error: null, connectionId: this.id });
        this.events.onReady(this);
        continue;
      }
      try {
        this.events.onMessage(this, m);
      } catch (e) {
        // A message the service could not carry out is this link's problem alone.
        this.events.onRefused(this, (e as Error).message);
      }
    }
  }

  /** Handshake error: the SDK reads the text and stops reconnecting this link. */
  private refuseHandshake(error: string): void {
    if (this.closed) return;
    this.events.onRefused(this, error);
    this.send({ type: ServiceMessageType.HandshakeResponse, error });
    this.ws.close(1008, error.slice(0, 120));
  }

  /** After the handshake: a ServiceError the SDK logs, then a close carrying the reason. */
  private drop(reason: string, code = 1011): void {
    if (this.closed) return;
    this.events.onRefused(this, reason);
    if (this.ws.bufferedAmount < this.limits.maxBufferedBytes) this.ws.send(encodeServiceMessage({ type: ServiceMessageType.ServiceError, error: reason }));
    this.ws.close(code, reason.slice(0, 120));
    // A peer that doesn't read won't answer the close either: don't wait on it.
    setTimeout(() => this.ws.terminate(), 1000).unref();
    this.onSocketClosed(true);
  }

  private onSocketClosed(abrupt: boolean): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.events.onClosed(this, abrupt);
  }
}
