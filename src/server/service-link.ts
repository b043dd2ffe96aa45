// The app server's end of one server connection to the service, as the real server SDK makes
// it: a server token naming the server (`nameid`), the X-ASRS-Server-Id header, the SDK's own
// handshake, then multiplexed client traffic, acks, FIN pings and a keep-alive ping every 5 s.
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import {
  AckStatus,
  ECHO_PING_KEY,
  FINACK,
  SERVER_ID_HEADER,
  SERVICE_PROTOCOL_VERSION,
  SHUTDOWN_PING_KEY,
  ServiceMessageType,
  decodeServiceMessages,
  encodeServiceMessage,
  pingPairs,
  type ServiceMessage,
} from "../protocol/service-protocol.js";
import { finValue, type GracefulShutdownMode } from "../protocol/shutdown-mode.js";

/** The real SDK's keep-alive and service timeout (ServiceConnectionBase). */
const KEEP_ALIVE_MS = 5_000;
const SERVICE_TIMEOUT_MS = 30_000;
const EMPTY_PING = encodeServiceMessage({ type: ServiceMessageType.Ping, pairs: [] });

export interface ServiceLinkOptions {
  endpoint: string;
  hub: string;
  serverId: string;
  token: string;
  /** Gets the link itself: messages can arrive before connect() has resolved to it. */
  /** Called synchronously once the handshake succeeds, before any client traffic is dispatched. */
  onOpen(link: ServiceLink): void;
  onMessage(message: ServiceMessage, link: ServiceLink): void;
  onClosed(link: ServiceLink): void;
}

export class ServiceLink {
  closed = false;
  private readonly ws: WebSocket;
  private nextAckId = 1;
  private readonly acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private finAck: (() => void) | undefined;
  private readonly closedPromise: Promise<void>;
  private lastReceivedAt = Date.now();
  private keepAlive: NodeJS.Timeout | undefined;

  private constructor(private readonly o: ServiceLinkOptions) {
    const url = `${o.endpoint.replace(/^http/, "ws")}/server/?hub=${encodeURIComponent(o.hub)}&cid=${randomUUID()}`;
    this.ws = new WebSocket(url, { headers: { Authorization: `Bearer ${o.token}`, [SERVER_ID_HEADER]: o.serverId } });
    this.closedPromise = new Promise((resolve) => this.ws.once("close", () => resolve()));
  }

  static connect(o: ServiceLinkOptions): Promise<ServiceLink> {
    const link = new ServiceLink(o);
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => reject(new Error(`Server link to ${o.endpoint} for hub '${o.hub}' failed: ${e.message}`));
      link.ws.once("unexpected-response", (_req, res) => fail(new Error(`HTTP ${res.statusCode}`)));
      link.ws.once("error", fail);
      link.ws.once("open", () => {
        link.ws.send(encodeServiceMessage({ type: ServiceMessageType.HandshakeRequest, version: SERVICE_PROTOCOL_VERSION, connectionType: 0, target: "", migrationLevel: 1, allowStatefulReconnects: false }));
      });
      let handshaken = false;
      link.ws.on("message", (data: Buffer) => {
        link.lastReceivedAt = Date.now();
        let messages: ServiceMessage[];
        try {
          messages = decodeServiceMessages(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        } catch {
          link.ws.close(1008, "bad service message");
          return;
        }
        for (const m of messages) {
          if (!handshaken) {
            if (m.type !== ServiceMessageType.HandshakeResponse || m.error) {
              fail(new Error(m.type === ServiceMessageType.HandshakeResponse ? String(m.error) : "no handshake response"));
              link.ws.close();
              return;
            }
            handshaken = true;
            link.ws.removeListener("error", fail);
            link.ws.on("error", () => {});
            link.ws.once("close", () => link.onSocketClosed());
            link.startKeepAlive();
            o.onOpen(link);
            resolve(link);
            continue;
          }
          link.receive(m);
        }
      });
    });
  }

  /** Resolves once the frame is handed to the socket. */
  send(message: ServiceMessage): Promise<void> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => this.ws.send(encodeServiceMessage(message), () => resolve()));
  }

  /** JoinGroupWithAck / LeaveGroupWithAck: resolves on the service's Ack. */
  sendWithAck(type: ServiceMessageType.JoinGroupWithAck | ServiceMessageType.LeaveGroupWithAck, connectionId: string, group: string): Promise<void> {
    const ackId = this.nextAckId++;
    const p = new Promise<void>((resolve, reject) => this.acks.set(ackId, { resolve, reject }));
    void this.send({ type, connectionId, group, ackId });
    return p;
  }

  /** Sends FIN for the mode; resolves on FINACK (or when the link closes). */
  fin(mode: GracefulShutdownMode): Promise<void> {
    const p = new Promise<void>((resolve) => (this.finAck = resolve));
    void this.send({ type: ServiceMessageType.Ping, pairs: [SHUTDOWN_PING_KEY, finValue(mode)] });
    return p;
  }

  /** Orderly close; resolves when the socket is closed. */
  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000, "shutdown");
    return this.closedPromise;
  }

  /** Abrupt: the TCP connection is destroyed, no close frame. */
  terminate(): void {
    this.ws.terminate();
  }

  /** Pings every 5 s (the service drops a silent link) and gives up on a service silent for 30 s. */
  private startKeepAlive(): void {
    this.keepAlive = setInterval(() => {
      if (Date.now() - this.lastReceivedAt >= SERVICE_TIMEOUT_MS) return this.terminate();
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(EMPTY_PING);
    }, KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  private receive(m: ServiceMessage): void {
    if (m.type === ServiceMessageType.Ack) {
      const a = this.acks.get(m.ackId);
      this.acks.delete(m.ackId);
      if (!a) return;
      if (m.status === AckStatus.Ok) a.resolve();
      else a.reject(new Error(m.message || `Group operation failed (status ${m.status}).`));
      return;
    }
    if (m.type === ServiceMessageType.Ping) {
      const p = pingPairs(m.pairs);
      if (p.get(SHUTDOWN_PING_KEY) === FINACK) this.finAck?.();
      if (p.has(ECHO_PING_KEY)) void this.send(m);
      return;
    }
    this.o.onMessage(m, this);
  }

  private onSocketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.finAck?.();
    for (const a of this.acks.values()) a.reject(new Error("The service link closed."));
    this.acks.clear();
    this.o.onClosed(this);
  }
}
