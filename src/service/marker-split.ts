// Test hook of MiniService.migrateAfterDeliveryMarker: finds where a client's first
// GracefulDelivery marker ends among the records the service forwards, so the service can move
// the client right there — between a marker and the message it announces. A MigrateClients
// shutdown makes that split only by chance; this makes it on purpose. Only an armed connection
// has its records decoded; every other one is relayed untouched, as always.
import { DELIVERY_METHOD } from "../protocol/conventions.js";
import { framedRecords, recordBody } from "../protocol/framed-records.js";
import { MessageType } from "../protocol/json-hub-protocol.js";
import { decodeRecord } from "./message-peek.js";

/** Byte offset just past the first delivery marker in `records` (whole framed records), or -1. */
export function endOfDeliveryMarker(records: Uint8Array, binary: boolean): number {
  let end = 0;
  for (const record of framedRecords(records, binary)) {
    end += record.length;
    if (isDeliveryMarker(recordBody(record, binary), binary)) return end;
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
