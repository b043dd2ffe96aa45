// One client-to-server stream as the hub method sees it: an async iterable fed by the
// client's StreamItem messages and ended by its Completion. Like ASP.NET Core's bounded
// channel (10 items), a full buffer makes the connection's reader wait: backpressure.

export const CLIENT_STREAM_CAPACITY = 10;

export class ClientStream<T = unknown> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended: { error?: Error } | undefined;
  /** The hub method waiting for the next item. */
  private reader: (() => void) | undefined;
  /** The connection's reader waiting for room. */
  private writer: (() => void) | undefined;
  private iterated = false;

  constructor(readonly id: string, private readonly capacity = CLIENT_STREAM_CAPACITY) {}

  /** Adds an item; resolves when there is room for the next one. */
  push(item: T): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.items.push(item);
    this.wake();
    if (this.items.length < this.capacity) return Promise.resolve();
    return new Promise((resolve) => (this.writer = resolve));
  }

  /** The client completed the stream (with an error, the hub method's loop throws it). */
  complete(error?: Error): void {
    if (this.ended) return;
    this.ended = error ? { error } : {};
    this.wake();
    this.writer?.();
    this.writer = undefined;
  }

  private wake(): void {
    const r = this.reader;
    this.reader = undefined;
    r?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error(`Client stream '${this.id}' can be read only once.`);
    this.iterated = true;
    for (;;) {
      if (this.items.length > 0) {
        const item = this.items.shift()!;
        if (this.items.length < this.capacity && this.writer) {
          const w = this.writer;
          this.writer = undefined;
          w();
        }
        yield item;
        continue;
      }
      if (this.ended) {
        if (this.ended.error) throw this.ended.error;
        return;
      }
      await new Promise<void>((resolve) => (this.reader = resolve));
    }
  }
}
