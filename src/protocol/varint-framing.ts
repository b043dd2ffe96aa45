// Length-prefixed framing used by the service protocol (and by SignalR's MessagePack
// hub protocol): each message is preceded by its byte length as a varint, 7 bits per
// byte, low group first. A WebSocket frame may carry several messages.

/** Largest length we accept before even allocating: a corrupt prefix must not cost memory. */
export const MAX_FRAMED_MESSAGE_BYTES = 16 * 1024 * 1024;

export function frame(payload: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = payload.length;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    prefix.push(b);
  } while (n > 0);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

/** Splits a buffer holding whole framed messages. Throws on a truncated or oversized message. */
export function unframe(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < data.length) {
    let len = 0;
    let shift = 0;
    let byte: number;
    do {
      if (pos >= data.length) throw new Error("Truncated length prefix.");
      if (shift > 28) throw new Error("Length prefix too long.");
      byte = data[pos++]!;
      len |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (len < 0 || len > MAX_FRAMED_MESSAGE_BYTES) throw new Error(`Message of ${len} bytes exceeds the limit.`);
    if (pos + len > data.length) throw new Error("Truncated message.");
    out.push(data.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}
