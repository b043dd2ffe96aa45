// Stateful reconnect's bookkeeping for one client connection, as ASP.NET Core's
// MessageBuffer (src/SignalR/common/Shared/MessageBuffer.cs) keeps it:
// - outbound: every sequenced message sent to the client is numbered from 1 and kept until
//   the client acks it; at most `limitBytes` unacknowledged (further messages wait: the
//   caller holds them back until an Ack makes room);
// - inbound: the client's sequenced messages are counted; a duplicate (id ≤ the latest
//   seen, after a resend) is dropped; after a reconnect everything before the client's
//   Sequence message is ignored.

export class MessageBuffer {
  private items: { id: number; bytes: Uint8Array }[] = [];
  private head = 0;
  private totalSent = 0;
  private buffered = 0;
  private nextReceivingId = 1;
  private latestReceivedId = 0;
  private lastAckedId = 0;
  private waitForSequence = false;

  constructor(readonly limitBytes: number) {}

  /** Unacknowledged bytes held for a resend. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** No room for more unacknowledged messages: hold further ones back (backpressure). */
  get full(): boolean {
    return this.buffered >= this.limitBytes;
  }

  /** Numbers and keeps a sequenced message about to be sent. */
  add(bytes: Uint8Array): void {
    this.items.push({ id: ++this.totalSent, bytes });
    this.buffered += bytes.length;
  }

  /** The client has everything up to `sequenceId`. */
  ack(sequenceId: number): void {
    while (this.head < this.items.length && this.items[this.head]!.id <= sequenceId) {
      this.buffered -= this.items[this.head]!.bytes.length;
      this.items[this.head++] = undefined as never; // let the bytes go now
    }
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * After a reconnect: the Sequence id to announce (first unacknowledged, or the next one)
   * and the messages to send again. From now on the client's messages are ignored until
   * its own Sequence arrives.
   */
  resend(): { sequenceId: number; messages: Uint8Array[] } {
    this.waitForSequence = true;
    const pending = this.items.slice(this.head);
    return { sequenceId: pending[0]?.id ?? this.totalSent + 1, messages: pending.map((i) => i.bytes) };
  }

  /** Whether an incoming message should be processed (false: a duplicate, or before the Sequence). */
  shouldProcess(sequenced: boolean, isSequence: boolean): boolean {
    if (this.waitForSequence) {
      if (!isSequence) return false;
      this.waitForSequence = false;
      return true;
    }
    if (!sequenced) return true;
    const id = this.nextReceivingId++;
    if (id <= this.latestReceivedId) return false;
    this.latestReceivedId = id;
    return true;
  }

  /** The client resends from `sequenceId`; an id beyond what was received is a protocol error. */
  resetSequence(sequenceId: number): string | undefined {
    if (sequenceId > this.nextReceivingId) return "Sequence ID greater than amount of messages we've received.";
    this.nextReceivingId = sequenceId;
    return undefined;
  }

  /** The id to ack, when something new arrived since the last Ack (sent about once a second). */
  takeAck(): number | undefined {
    if (this.lastAckedId >= this.latestReceivedId) return undefined;
    this.lastAckedId = this.latestReceivedId;
    return this.latestReceivedId;
  }
}
