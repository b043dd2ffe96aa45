// The long-polling transport: the client keeps one GET "poll" open; the service answers it
// with whatever is queued for the client (200), or with an empty 200 after the poll timeout,
// or 204 once the connection is over. The client sends with POSTs and ends with DELETE.
// Semantics of ASP.NET Core's LongPollingServerTransport and HttpConnectionDispatcher.
import type { ServerResponse } from "node:http";
import type { ClientTransport, TransportSink } from "./client-transport.js";

export class LongPollingTransport implements ClientTransport {
  readonly kind = "LongPolling" as const;
  readonly binary = true;
  private sink: TransportSink | undefined;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private poll: { res: ServerResponse; timer: NodeJS.Timeout } | undefined;
  /** No more data will be queued: once the queue is delivered, polls get 204. */
  private closing = false;
  private ended = false;
  /** When the last poll ended (or the first began): a client that stops polling times out from here. */
  lastPollAt = Date.now();

  constructor(private readonly pollTimeoutMs: number) {}

  get bufferedBytes(): number {
    return this.queued;
  }

  /** Over: the end was delivered (204) or the client left. */
  get done(): boolean {
    return this.ended;
  }

  /** A poll is waiting: the client is there even if it sends nothing. */
  get polling(): boolean {
    return this.poll !== undefined;
  }

  attach(sink: TransportSink): void {
    this.sink = sink;
  }

  /** Called by the endpoint with each POST body. */
  receive(body: Uint8Array): void {
    if (!this.ended && !this.closing) this.sink?.onData(body, undefined);
  }

  /** A new GET. The first one of a connection is answered at once: it only starts the connection. */
  onPoll(res: ServerResponse, first: boolean): void {
    this.lastPollAt = Date.now();
    // A poll replacing a pending one: the old one is answered (empty) so only one stays open.
    if (this.poll) this.answer(200);
    if (first) return void res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": 0 }).end();
    const timer = setTimeout(() => this.poll?.res === res && this.answer(200), this.pollTimeoutMs);
    timer.unref();
    this.poll = { res, timer };
    res.on("close", () => {
      if (this.poll?.res !== res) return;
      clearTimeout(timer);
      this.poll = undefined;
      this.lastPollAt = Date.now();
    });
    if (this.queued > 0 || this.closing) this.answer(200);
  }

  send(data: Uint8Array): void {
    if (this.ended || this.closing) return;
    this.queue.push(data);
    this.queued += data.length;
    if (this.poll) this.answer(200);
  }

  // Nothing to pause: a POST is answered only after its body is handled.
  pause(): void {}
  resume(): void {}

  /** Orderly end: what is queued is still delivered, then polls get 204. */
  close(): void {
    if (this.ended || this.closing) return;
    this.closing = true;
    if (this.poll) this.answer(200);
  }

  terminate(): void {
    if (this.ended) return;
    this.closing = true;
    this.queue = [];
    this.queued = 0;
    if (this.poll) this.answer(204);
    this.finish(false);
  }

  /** The client said goodbye (DELETE): a waiting poll gets 204. */
  delete(): void {
    this.terminate();
  }

  /** The client stopped polling: over, as if it had vanished. */
  abandon(): void {
    if (this.ended) return;
    this.closing = true;
    this.queue = [];
    this.queued = 0;
    if (this.poll) this.answer(204);
    this.finish(true);
  }

  private answer(status: 200 | 204): void {
    const p = this.poll!;
    this.poll = undefined;
    clearTimeout(p.timer);
    this.lastPollAt = Date.now();
    if (status === 200 && this.queued === 0 && this.closing) status = 204;
    if (status === 204) {
      p.res.writeHead(204).end();
      this.finish(false);
      return;
    }
    const body = Buffer.concat(this.queue);
    this.queue = [];
    this.queued = 0;
    p.res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length }).end(body);
  }

  private finish(abrupt: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.sink?.onEnd(abrupt);
  }
}
