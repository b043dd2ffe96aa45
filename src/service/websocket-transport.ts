// The WebSockets transport of the service's client endpoint: JSON in text frames,
// MessagePack in binary frames. The frame size bound is the `ws` server's maxPayload.
import type { WebSocket } from "ws";
import type { ClientTransport, TransportSink } from "./client-transport.js";

export class WebSocketTransport implements ClientTransport {
  readonly kind = "WebSockets" as const;
  readonly binary = true;
  private ended = false;
  private sink: TransportSink | undefined;

  constructor(private readonly ws: WebSocket) {}

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
    this.ws.on("message", (data: Buffer, isBinary: boolean) => sink.onData(data, isBinary));
    const end = (abrupt: boolean) => {
      if (this.ended) return;
      this.ended = true;
      sink.onEnd(abrupt);
    };
    // 1000 and 1001 are orderly; anything else (1006 reset, 1009 too big, …) is abrupt.
    this.ws.on("close", (code: number) => end(code !== 1000 && code !== 1001));
    this.ws.on("error", () => end(true));
  }

  send(data: Uint8Array, binary: boolean): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // While reading is paused, each write's completion is a chance to resume.
    this.ws.send(data, { binary }, this.ws.isPaused ? () => this.sink?.onDrain() : undefined);
  }

  pause(): void {
    if (!this.ws.isPaused) this.ws.pause();
  }

  resume(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  close(): void {
    this.ended = true;
    this.ws.close(1000);
    // A client that does not read never answers the close frame: don't wait 30 s for it.
    const t = setTimeout(() => this.ws.terminate(), 2_000);
    t.unref();
    this.ws.once("close", () => clearTimeout(t));
  }

  terminate(): void {
    this.ended = true;
    this.ws.terminate();
  }
}
