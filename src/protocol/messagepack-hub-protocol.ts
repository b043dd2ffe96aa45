// SignalR's MessagePack hub protocol ("messagepack", version 2), laid out as ASP.NET Core's
// MessagePackHubProtocolWorker writes it (src/SignalR/docs/specs/HubProtocol.md): each
// message is a MessagePack array, framed with a varint length prefix.
//
// Values: what a JSON hub would see, with MessagePack's richer types kept. Integers come
// back as numbers, except 64-bit ones outside Number's safe range, which stay exact as
// bigint (and go back out as int64); binary is a Uint8Array; the timestamp extension is
// a Date. docs/transports.md has the table.
import { Decoder, Encoder } from "@msgpack/msgpack";
import { frame } from "./varint-framing.js";
import {
  InvalidDataError,
  MessageType,
  type CompletionMessage,
  type HubMessage,
  type InvocationMessage,
  type StreamInvocationMessage,
} from "./json-hub-protocol.js";

export const MESSAGEPACK_PROTOCOL = "messagepack";
/** The version ASP.NET Core 8+ and @microsoft/signalr-protocol-msgpack announce. */
export const MESSAGEPACK_PROTOCOL_VERSION = 2;
/** MessagePack-CSharp's default object-graph depth for untrusted data. */
export const MESSAGEPACK_MAX_DEPTH = 500;

const enum ResultKind {
  Error = 1,
  Void = 2,
  NonVoid = 3,
}

// useBigInt64: 64-bit integers are decoded exactly; safe ones are turned back into numbers below.
const encoder = new Encoder({ useBigInt64: true, maxDepth: MESSAGEPACK_MAX_DEPTH });
const decoder = new Decoder({ useBigInt64: true });

/** One framed message, ready to send in a binary frame. */
export function encodeMessagePack(message: HubMessage): Uint8Array {
  return frame(encoder.encode(toArray(message)));
}

function toArray(m: HubMessage): unknown[] {
  switch (m.type) {
    case MessageType.Invocation:
      return m.streamIds
        ? [m.type, m.headers ?? {}, m.invocationId ?? null, m.target, m.arguments, m.streamIds]
        : [m.type, m.headers ?? {}, m.invocationId ?? null, m.target, m.arguments];
    case MessageType.StreamInvocation:
      return m.streamIds
        ? [m.type, m.headers ?? {}, m.invocationId, m.target, m.arguments, m.streamIds]
        : [m.type, m.headers ?? {}, m.invocationId, m.target, m.arguments];
    case MessageType.StreamItem:
      return [m.type, m.headers ?? {}, m.invocationId, m.item];
    case MessageType.Completion:
      if (m.error !== undefined) return [m.type, m.headers ?? {}, m.invocationId, ResultKind.Error, m.error];
      if (m.result !== undefined) return [m.type, m.headers ?? {}, m.invocationId, ResultKind.NonVoid, m.result];
      return [m.type, m.headers ?? {}, m.invocationId, ResultKind.Void];
    case MessageType.CancelInvocation:
      return [m.type, m.headers ?? {}, m.invocationId];
    case MessageType.Ping:
      return [m.type];
    case MessageType.Close:
      return m.allowReconnect === undefined ? [m.type, m.error ?? null] : [m.type, m.error ?? null, m.allowReconnect];
    case MessageType.Ack:
    case MessageType.Sequence:
      return [m.type, m.sequenceId];
  }
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date);

const read = {
  string(v: unknown, field: string): string {
    if (typeof v !== "string") throw new InvalidDataError(`Reading '${field}' as String failed.`);
    return v;
  },
  optionalId(v: unknown): string | undefined {
    if (v === null || v === undefined || v === "") return undefined;
    return read.string(v, "invocationId");
  },
  int(v: unknown, field: string): number {
    if (typeof v === "bigint" && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
    if (typeof v !== "number" || !Number.isInteger(v)) throw new InvalidDataError(`Reading '${field}' as Int64 failed.`);
    return v;
  },
  headers(v: unknown): Record<string, string> | undefined {
    if (v === null || v === undefined) return undefined;
    if (!isMap(v) || !Object.values(v).every((s) => typeof s === "string")) throw new InvalidDataError("Reading 'headers' as Map of String failed.");
    return Object.keys(v).length ? (v as Record<string, string>) : undefined;
  },
  array(v: unknown, field: string): unknown[] {
    if (!Array.isArray(v)) throw new InvalidDataError(`Reading array length for '${field}' failed.`);
    return v;
  },
  streamIds(v: unknown): string[] | undefined {
    if (v === null || v === undefined) return undefined;
    const ids = read.array(v, "streamIds").map((s) => read.string(s, "streamId"));
    return ids.length ? ids : undefined;
  },
};

/**
 * Hub values as a JSON hub would see them: 64-bit integers in the safe range become numbers.
 * Also the depth guard: a value nested deeper than `maxDepth` is refused, as MessagePack-CSharp does.
 */
function normalize(v: unknown, depth: number, maxDepth: number): unknown {
  if (typeof v === "bigint") return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (typeof v !== "object" || v === null || v instanceof Uint8Array || v instanceof Date) return v;
  if (depth >= maxDepth) throw new InvalidDataError(`The maximum depth of ${maxDepth} was exceeded.`);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = normalize(v[i], depth + 1, maxDepth);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) o[k] = normalize(o[k], depth + 1, maxDepth);
  return o;
}

/**
 * Decodes one unframed message. Bad envelopes throw InvalidDataError (the connection is
 * closed); arguments that cannot be bound become `bindingError` on the message, so only
 * that invocation fails, as in ASP.NET Core's InvocationBindingFailureMessage.
 */
export function decodeMessagePack(payload: Uint8Array, maxDepth = MESSAGEPACK_MAX_DEPTH): HubMessage {
  let v: unknown;
  try {
    v = decoder.decode(payload);
  } catch (e) {
    throw new InvalidDataError(`Error reading MessagePack: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || v.length === 0) throw new InvalidDataError("Message is not a MessagePack array.");
  const type = read.int(v[0], "type");
  const bind = <T extends object>(m: T, field: keyof T, value: unknown): T => {
    try {
      (m as Record<keyof T, unknown>)[field] = normalize(value, 1, maxDepth);
    } catch (e) {
      (m as { bindingError?: string }).bindingError = (e as Error).message;
    }
    return m;
  };
  switch (type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      if (v.length < 5) throw new InvalidDataError(`Invalid payload for ${type === MessageType.Invocation ? "Invocation" : "StreamInvocation"} message.`);
      const headers = read.headers(v[1]);
      const invocationId = read.optionalId(v[2]);
      if (type === MessageType.StreamInvocation && invocationId === undefined) throw new InvalidDataError("Reading 'invocationId' as String failed.");
      const target = read.string(v[3], "target");
      const args = read.array(v[4], "arguments");
      const streamIds = read.streamIds(v[5]);
      const m = { type, target, arguments: [] as unknown[] } as InvocationMessage | StreamInvocationMessage;
      if (invocationId !== undefined) m.invocationId = invocationId;
      if (headers) m.headers = headers;
      if (streamIds) m.streamIds = streamIds;
      return bind(m, "arguments", args);
    }
    case MessageType.StreamItem: {
      if (v.length < 4) throw new InvalidDataError("Invalid payload for StreamItem message.");
      const headers = read.headers(v[1]);
      const m: HubMessage = { type, invocationId: read.string(v[2], "invocationId"), item: undefined };
      if (headers) m.headers = headers;
      return bind(m, "item", v[3]);
    }
    case MessageType.Completion: {
      if (v.length < 4) throw new InvalidDataError("Invalid payload for Completion message.");
      const headers = read.headers(v[1]);
      const m: CompletionMessage = { type, invocationId: read.string(v[2], "invocationId") };
      if (headers) m.headers = headers;
      const kind = read.int(v[3], "resultKind");
      if (kind === ResultKind.Void) return m;
      if (v.length < 5) throw new InvalidDataError("Invalid payload for Completion message.");
      if (kind === ResultKind.Error) return { ...m, error: read.string(v[4], "error") };
      if (kind === ResultKind.NonVoid) return bind(m, "result", v[4]);
      throw new InvalidDataError("Invalid invocation result kind.");
    }
    case MessageType.CancelInvocation: {
      if (v.length < 3) throw new InvalidDataError("Invalid payload for CancelInvocation message.");
      const headers = read.headers(v[1]);
      const m: HubMessage = { type, invocationId: read.string(v[2], "invocationId") };
      if (headers) m.headers = headers;
      return m;
    }
    case MessageType.Ping:
      return { type };
    case MessageType.Close: {
      if (v.length < 2) throw new InvalidDataError("Invalid payload for Close message.");
      const m: HubMessage = { type };
      if (v[1] !== null && v[1] !== undefined) m.error = read.string(v[1], "error");
      if (v.length > 2 && v[2] !== null) {
        if (typeof v[2] !== "boolean") throw new InvalidDataError("Reading 'allowReconnect' as Boolean failed.");
        m.allowReconnect = v[2];
      }
      return m;
    }
    case MessageType.Ack:
    case MessageType.Sequence:
      if (v.length < 2) throw new InvalidDataError(`Invalid payload for ${type === MessageType.Ack ? "Ack" : "Sequence"} message.`);
      return { type, sequenceId: read.int(v[1], "sequenceId") };
    default:
      throw new InvalidDataError(`Unknown message type '${type}'.`);
  }
}
