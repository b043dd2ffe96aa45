// Test hook of MiniService.migrateAfterDeliveryMarker: finds where a client's first
// GracefulDelivery marker ends among the records the service forwards, so the service can move
// the client right there — between a marker and the message it announces. A MigrateClients
// shutdown makes that split only by chance; this makes it on purpose. Only an armed connection
// has its records decoded; every other one is relayed untouched, as always.
import { DELIVERY_METHOD } from "../protocol/conventions.js";
import { MessageType, RECORD_SEPARATOR_CODE } from "../protocol/json-hub-protocol.js";
import { decodeRecord } from "./message-peek.js";

/** Byte offset just past the first delivery marker in `records` (whole framed records), or -1. */
export function endOfDeliveryMarker(records: Uint8Array, binary: boolean): number {
  let pos = 0;
  while (pos < records.length) {
    let bodyStart = pos;
    let end: number;
    if (binary) {
      let length = 0;
      for (let shift = 0; bodyStart < records.length; shift += 7) {
        const b = records[bodyStart++]!;
        length += (b & 0x7f) * 2 ** shift;
        if ((b & 0x80) === 0) break;
      }
      end = Math.min(records.length, bodyStart + length);
    } else {
      const at = records.indexOf(RECORD_SEPARATOR_CODE, pos);
      end = at < 0 ? records.length : at + 1;
    }
    const body = records.subarray(bodyStart, binary ? end : Math.max(bodyStart, end - 1));
    if (isDeliveryMarker(body, binary)) return end;
    pos = end;
  }
  return -1;
}

function isDeliveryMarker(body: Uint8Array, binary: boolean): boolean {
  try {
    const m = decodeRecord(body, binary);
    return m.type === MessageType.Invocation && m.target === DELIVERY_METHOD;
  } catch {
    return false; // a malformed record is the app server's to refuse, not a marker
  }
}
