// Recognises the app server's answer to a client's hub handshake among the data it writes for
// the connection. The real SDK may write a hub message (a hello from OnConnectedAsync) before the
// handshake answer has gone out; the client rejects anything before the answer, so the service
// holds such messages back and delivers them right after it, as Azure does.
import { RECORD_SEPARATOR_CODE } from "../protocol/json-hub-protocol.js";
import { DataMessageType, type Extensions } from "../protocol/service-protocol.js";

/**
 * True when the payload starts with a handshake response record: `{}` or `{"error":…}` — a JSON
 * object with no `type`, which every hub message has. The SDK may also say so in the extension
 * members (DataMessageType.Handshake); when it names another kind, it is not the answer.
 */
export function isHandshakeAnswer(payload: Uint8Array, ext?: Extensions): boolean {
  if (ext?.dataType !== undefined && ext.dataType !== DataMessageType.Unknown) return ext.dataType === DataMessageType.Handshake;
  return handshakeAnswerLength(payload) > 0;
}

/** Bytes taken by a leading handshake response record (separator included), or 0. */
export function handshakeAnswerLength(payload: Uint8Array): number {
  if (payload[0] !== 0x7b /* { */) return 0;
  const end = payload.indexOf(RECORD_SEPARATOR_CODE);
  if (end < 0) return 0;
  try {
    const v: unknown = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, end).toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) && !("type" in v) ? end + 1 : 0;
  } catch {
    return 0;
  }
}
