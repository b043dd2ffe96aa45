// Incremental readers for SignalR's two framings: text records ended by 0x1E (JSON hub
// protocol, and every handshake) and varint length-prefixed frames (MessagePack). Bytes
// arrive in arbitrary chunks; each byte is scanned once, so a record dribbled in one byte
// at a time costs linear time, and the caller can stop reading (backpressure) between
// records without losing anything: records are only cut out when asked for.
import { RECORD_SEPARATOR_CODE } from "./json-hub-protocol.js";

/** Bytes held in arrival order, consumed from the front. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk still holding unconsumed bytes (no Array.shift: it is O(n)). */
  private first = 0;
  /** Offset into chunks[first] of the first unconsumed byte. */
  private head = 0;
  private total = 0;
  /** Where the last separator search stopped: chunk index, offset in it, and bytes before it. */
  private scan = { chunk: 0, offset: 0, base: 0 };

  get length(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The byte at `index` from the front (index < length); meant for the first few bytes. */
  at(index: number): number {
    let i = index + this.head;
    for (let c = this.first; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
    throw new RangeError("ByteQueue index out of range.");
  }

  /** Removes and returns the first `n` bytes as one array. */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[this.first]!;
      const want = Math.min(c.length - this.head, n - filled);
      out.set(c.subarray(this.head, this.head + want), filled);
      filled += want;
      this.head += want;
      if (this.head === c.length) {
        this.first++;
        this.head = 0;
      }
    }
    this.total -= n;
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    this.scan = { chunk: this.first, offset: this.head, base: 0 };
    return out;
  }

  /**
   * Bytes before the first `byte`, or -1. The search resumes where the previous one
   * stopped, so every byte is looked at once however it was chunked.
   */
  indexOf(byte: number): number {
    const s = this.scan;
    if (s.chunk < this.first) Object.assign(s, { chunk: this.first, offset: this.head, base: 0 });
    while (s.chunk < this.chunks.length) {
      const c = this.chunks[s.chunk]!;
      const hit = c.indexOf(byte, s.offset);
      if (hit >= 0) return s.base + hit - s.offset;
      s.base += c.length - s.offset;
      s.chunk++;
      s.offset = 0;
    }
    return -1;
  }
}

/** Error of framing itself: the connection cannot be read any further. */
export class FramingError extends Error {
  override name = "FramingError";
}

/** Text records ended by the record separator 0x1E. */
export class RecordReader {
  private readonly q = new ByteQueue();

  constructor(private readonly maxRecordBytes = Infinity) {}

  get bufferedBytes(): number {
    return this.q.length;
  }

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
  }

  /** The next whole record (without its separator), or undefined until one is complete. */
  next(): Uint8Array | undefined {
    const at = this.q.indexOf(RECORD_SEPARATOR_CODE);
    if (at < 0) {
      if (this.q.length > this.maxRecordBytes) throw new FramingError(`The maximum message size of ${this.maxRecordBytes}B was exceeded.`);
      return undefined;
    }
    if (at > this.maxRecordBytes) throw new FramingError(`The maximum message size of ${this.maxRecordBytes}B was exceeded.`);
    const record = this.q.take(at);
    this.q.take(1);
    return record;
  }

  /** Hands over whatever is left (bytes after the handshake belong to the next reader). */
  drain(): Uint8Array {
    return this.q.take(this.q.length);
  }
}

/** The varint length prefix of SignalR's binary framing: 7 bits a byte, low group first, at most 5 bytes. */
export class VarintFrameReader {
  private readonly q = new ByteQueue();
  /** Length of the frame being awaited, once its prefix is complete. */
  private pending: { prefix: number; length: number } | undefined;

  constructor(private readonly maxFrameBytes = 2 ** 31 - 1) {}

  get bufferedBytes(): number {
    return this.q.length;
  }

  push(chunk: Uint8Array): void {
    this.q.push(chunk);
  }

  next(): Uint8Array | undefined {
    if (!this.pending) {
      let length = 0;
      let i = 0;
      for (; ; i++) {
        if (i >= this.q.length) return undefined;
        if (i >= 5) throw new FramingError("Messages over 2GB in size are not supported.");
        const b = this.q.at(i);
        length += (b & 0x7f) * 2 ** (7 * i);
        if ((b & 0x80) === 0) break;
      }
      if (length > this.maxFrameBytes) throw new FramingError(`The maximum message size of ${this.maxFrameBytes}B was exceeded.`);
      this.pending = { prefix: i + 1, length };
    }
    if (this.q.length < this.pending.prefix + this.pending.length) return undefined;
    this.q.take(this.pending.prefix);
    const frame = this.q.take(this.pending.length);
    this.pending = undefined;
    return frame;
  }
}
