// The Server-Sent Events transport: the server→client half is one long `text/event-stream`
// response; the client sends with HTTP POSTs (routed to the connection by the endpoint).
// Text only, so JSON only — as in ASP.NET Core's ServerSentEventsServerTransport.
import type { ServerResponse } from "node:http";
import type { ClientTransport, TransportSink } from "./client-transport.js";

export class ServerSentEventsTransport implements ClientTransport {
  readonly kind = "ServerSentEvents" as const;
  readonly binary = false;
  private sink: TransportSink | undefined;
  private ended = false;

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" });
    // A comment line at once, so the client's EventSource reports "open" without waiting for data.
    res.write(":\r\n");
    res.on("close", () => this.end(true));
  }

  get bufferedBytes(): number {
    return this.res.writableLength;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
  }

  /** Called by the endpoint with each POST body. */
  receive(body: Uint8Array): void {
    if (!this.ended) this.sink?.onData(body, undefined);
  }

  send(data: Uint8Array): void {
    if (this.ended) return;
    // One event per send; each line of the payload is its own `data:` field.
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
    let event = "";
    for (const line of text.split("\n")) event += `data: ${line.endsWith("\r") ? line.slice(0, -1) : line}\r\n`;
    this.res.write(event + "\r\n");
  }

  // POSTs are answered one at a time by the endpoint; the stream itself has nothing to pause.
  pause(): void {}
  resume(): void {}

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.end();
  }

  terminate(): void {
    if (this.ended) return;
    this.ended = true;
    this.res.destroy();
  }

  private end(abrupt: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.sink?.onEnd(abrupt);
  }
}
