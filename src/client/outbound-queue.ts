// The outbound buffer: a bounded FIFO of app calls made while no connection is usable.
// Items keep their call sequence number, so anything put back lands where it was.
import type { Invocation } from "./pending-invocations";
import type { InterruptReason } from "./errors";

export interface QueuedSend {
  readonly kind: "send";
  readonly seq: number;
  readonly method: string;
  readonly args: readonly unknown[];
  resolve(): void;
  reject(error: Error): void;
}

export interface QueuedInvoke {
  readonly kind: "invoke";
  readonly seq: number;
  readonly invocation: Invocation;
  /** Set when this is a re-send of an interrupted invocation. */
  readonly retryReason?: InterruptReason;
}

export type QueuedMessage = QueuedSend | QueuedInvoke;

export class OutboundQueue {
  private items: QueuedMessage[] = [];
  constructor(private readonly limit: number) {}

  get length(): number { return this.items.length; }

  /** Appends a new app message; false when the buffer is full (the caller rejects it). */
  push(item: QueuedMessage): boolean {
    if (this.items.length >= this.limit) return false;
    this.items.push(item);
    return true;
  }

  shift(): QueuedMessage | undefined { return this.items.shift(); }

  /** Re-inserts an item taken out earlier (or an interrupted invocation), in call order, ignoring the bound. */
  putBack(item: QueuedMessage): void {
    let i = 0;
    while (i < this.items.length && this.items[i]!.seq < item.seq) i++;
    this.items.splice(i, 0, item);
  }

  /** Empties the buffer, rejecting every message with `error`; `each` sees each one (for `undelivered`). */
  rejectAll(error: Error, each?: (item: QueuedMessage) => void): void {
    const items = this.items;
    this.items = [];
    for (const item of items) {
      if (item.kind === "send") item.reject(error);
      else item.invocation.reject(error);
      each?.(item);
    }
  }
}
