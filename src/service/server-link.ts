// One app server's WebSocket to the service ("server connection"): the service-protocol
// handshake, then a stream of service messages. Many client connections are multiplexed
// over it.
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
}

export class ServerLink {
  serverId = "";
  ready = false;
  closed = false;

  constructor(
    readonly id: string,
    readonly hub: string,
    private readonly ws: WebSocket,
    private readonly events: ServerLinkEvents,
    private readonly onProtocolError: (link: ServerLink, error: Error) => void,
    handshakeTimeoutMs: number,
  ) {
    // A link that never completes its handshake must not hold a socket forever.
    const timer = setTimeout(() => {
      if (!this.ready && !this.closed) this.reject("No service-protocol handshake within the timeout.");
    }, handshakeTimeoutMs);
    timer.unref();
    ws.once("close", () => clearTimeout(timer));
    ws.on("message", (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
    // A close frame is an orderly end; anything else (reset, terminate) is abrupt.
    ws.on("close", (code: number) => this.onSocketClosed(code !== 1000 && code !== 1001));
    ws.on("error", () => this.onSocketClosed(true));
  }

  send(message: ServiceMessage): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeServiceMessage(message));
  }

  sendMany(messages: ServiceMessage[]): void {
    if (this.closed || messages.length === 0 || this.ws.readyState !== this.ws.OPEN) return;
    this.ws.send(encodeServiceMessages(messages));
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.ws.close(code, reason);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    let messages: ServiceMessage[];
    try {
      if (!isBinary) throw new ServiceProtocolError("The service protocol uses binary frames.");
      messages = decodeServiceMessages(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch (e) {
      this.onProtocolError(this, e as Error);
      this.ws.close(1008, (e as Error).message.slice(0, 120));
      return;
    }
    for (const m of messages) {
      if (this.closed) return;
      if (!this.ready) {
        if (m.type !== ServiceMessageType.HandshakeRequest) return this.reject("Expected a HandshakeRequest first.");
        if (m.version !== SERVICE_PROTOCOL_VERSION) return this.reject(`Protocol version ${m.version} is not supported.`);
        this.serverId = m.members.sid || this.id;
        this.ready = true;
        this.send({ type: ServiceMessageType.HandshakeResponse, error: null, connectionId: this.id });
        this.events.onReady(this);
        continue;
      }
      try {
        this.events.onMessage(this, m);
      } catch (e) {
        this.onProtocolError(this, e as Error);
      }
    }
  }

  private reject(error: string): void {
    this.send({ type: ServiceMessageType.HandshakeResponse, error });
    this.onProtocolError(this, new ServiceProtocolError(error));
    this.ws.close(1008, error.slice(0, 120));
  }

  private onSocketClosed(abrupt: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.events.onClosed(this, abrupt);
  }
}
