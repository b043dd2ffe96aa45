// What a client connection needs of its transport (WebSockets, Server-Sent Events, long
// polling): send bytes, say how many are still waiting to reach the client, pause reading
// (backpressure), end. Incoming bytes and the end are reported through the sink.

export type TransportKind = "WebSockets" | "ServerSentEvents" | "LongPolling";

export interface TransportSink {
  /** Bytes from the client. `binary` is the WebSocket frame type; undefined where a transport has none (HTTP POST). */
  onData(data: Uint8Array, binary: boolean | undefined): void;
  /** The transport ended. `abrupt`: the peer vanished without an orderly close (stateful reconnect may follow). */
  onEnd(abrupt: boolean): void;
  /** Queued bytes reached the socket (reported only while reading is paused, to resume it). */
  onDrain(): void;
}

export interface ClientTransport {
  readonly kind: TransportKind;
  /** Whether this transport can carry binary (MessagePack); SSE cannot. */
  readonly binary: boolean;
  /** Bytes accepted by send() that have not reached the client's socket yet. */
  readonly bufferedBytes: number;
  attach(sink: TransportSink): void;
  send(data: Uint8Array, binary: boolean): void;
  /** Stop / restart reading from the client (backpressure while its send queue is long). */
  pause(): void;
  resume(): void;
  /** Orderly end, after what was sent is delivered. */
  close(): void;
  /** Abrupt end: nothing more is delivered. */
  terminate(): void;
}
