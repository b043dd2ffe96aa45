// Cutting a buffer of whole hub-protocol records (as a server writes them, or as the service
// forwards a client's) into records, framing kept: JSON records end with 0x1E, MessagePack ones
// start with a varint length. For buffers already known to hold whole records; the incremental
// readers in frame-reader.ts are for bytes as they arrive.
import { RECORD_SEPARATOR_CODE } from "./json-hub-protocol.js";

/** Each record of `payload`, with its framing; a truncated last one is yielded as it is. */
export function* framedRecords(payload: Uint8Array, binary: boolean): Generator<Uint8Array> {
  let pos = 0;
  while (pos < payload.length) {
    let end: number;
    if (binary) {
      const { length, prefix } = varintPrefix(payload, pos);
      end = Math.min(payload.length, pos + prefix + length);
    } else {
      const at = payload.indexOf(RECORD_SEPARATOR_CODE, pos);
      end = at < 0 ? payload.length : at + 1;
    }
    yield payload.subarray(pos, end);
    pos = end;
  }
}

/** A framed record's message bytes: without its length prefix (MessagePack) or separator (JSON). */
export function recordBody(record: Uint8Array, binary: boolean): Uint8Array {
  if (!binary) return record.subarray(0, record[record.length - 1] === RECORD_SEPARATOR_CODE ? record.length - 1 : record.length);
  return record.subarray(varintPrefix(record, 0).prefix);
}

/** The varint length at `pos` (7 bits a byte, low group first) and how many bytes it takes. */
function varintPrefix(bytes: Uint8Array, pos: number): { length: number; prefix: number } {
  let length = 0;
  let i = pos;
  for (let shift = 0; i < bytes.length; shift += 7) {
    const b = bytes[i++]!;
    length += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
  }
  return { length, prefix: i - pos };
}
