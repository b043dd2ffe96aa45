// What kind of hub message a record is, read from its first bytes. The service routes by
// envelope and relays payloads untouched (as Azure does), so it never decodes a whole
// message it does not have to: only pings, closes and the stateful-reconnect Ack/Sequence
// are the service's own business. A record that does not start the usual way is decoded
// in full, which also gives a malformed one its ASP.NET Core error text.
import { decodeMessagePack } from "../protocol/messagepack-hub-protocol.js";
import { MessageType, parseMessage, type HubMessage } from "../protocol/json-hub-protocol.js";

/** `{"type":` — how every JSON hub message from the JS and .NET clients begins. */
const JSON_TYPE_PREFIX = Buffer.from('{"type":');
const utf8 = new TextDecoder("utf-8", { fatal: true });

function startsWithTypePrefix(record: Uint8Array): boolean {
  for (let i = 0; i < JSON_TYPE_PREFIX.length; i++) if (record[i] !== JSON_TYPE_PREFIX[i]) return false;
  return true;
}

const isKnownType = (t: number): boolean => t >= MessageType.Invocation && t <= MessageType.Sequence;

/** Type of a JSON record (without its separator). Throws InvalidDataError for a bad one. */
export function peekJsonType(record: Uint8Array): MessageType {
  // Fast path: `{"type":N,` or `{"type":N}` with one digit N, no whitespace (what clients write).
  if (record.length > 10 && startsWithTypePrefix(record)) {
    const d = record[8]! - 0x30;
    const after = record[9];
    if (isKnownType(d) && (after === 0x2c || after === 0x7d)) return d as MessageType;
  }
  return decodeRecord(record, false).type;
}

/** Type of a MessagePack message (the frame without its length prefix). Throws InvalidDataError for a bad one. */
export function peekMessagePackType(body: Uint8Array): MessageType {
  // Fast path: a fixarray (0x91–0x9f) whose first element is a positive fixint type.
  const b0 = body[0];
  if (b0 !== undefined && b0 > 0x90 && b0 <= 0x9f && body.length > 1 && isKnownType(body[1]!)) return body[1] as MessageType;
  return decodeMessagePack(body).type;
}

/** Decodes a record the service must act on (Ack, Sequence, Close). */
export function decodeRecord(record: Uint8Array, binary: boolean): HubMessage {
  if (binary) return decodeMessagePack(record);
  let text: string;
  try {
    text = utf8.decode(record);
  } catch {
    text = "\uFFFD"; // parseMessage then fails with "Error reading JSON." like any other non-JSON record
  }
  return parseMessage(text);
}

/** Messages that count in stateful reconnect's sequence numbers (HubInvocationMessage in .NET). */
export function isSequenced(type: MessageType): boolean {
  return type >= MessageType.Invocation && type <= MessageType.CancelInvocation;
}
