// SignalR's JSON hub protocol: each record is a JSON object followed by 0x1E.
// Only what the kit needs: parse incoming records strictly, format outgoing ones.
// The message types are shared with the MessagePack protocol.

export const RECORD_SEPARATOR = "\u001e";
export const RECORD_SEPARATOR_CODE = 0x1e;

export const enum MessageType {
  Invocation = 1,
  StreamItem = 2,
  Completion = 3,
  StreamInvocation = 4,
  CancelInvocation = 5,
  Ping = 6,
  Close = 7,
  Ack = 8,
  Sequence = 9,
}

/**
 * Set by a parser when the envelope was fine but a value could not be read (too deep, …):
 * only that invocation fails, as ASP.NET Core's InvocationBindingFailureMessage.
 */
interface MayFailBinding {
  bindingError?: string;
}
export interface InvocationMessage extends MayFailBinding {
  type: MessageType.Invocation;
  invocationId?: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
  headers?: Record<string, string>;
}
export interface StreamInvocationMessage extends MayFailBinding {
  type: MessageType.StreamInvocation;
  invocationId: string;
  target: string;
  arguments: unknown[];
  streamIds?: string[];
  headers?: Record<string, string>;
}
export interface CompletionMessage extends MayFailBinding {
  type: MessageType.Completion;
  invocationId: string;
  result?: unknown;
  error?: string;
  headers?: Record<string, string>;
}
export interface StreamItemMessage extends MayFailBinding {
  type: MessageType.StreamItem;
  invocationId: string;
  item: unknown;
  headers?: Record<string, string>;
}
export interface CancelInvocationMessage {
  type: MessageType.CancelInvocation;
  invocationId: string;
  headers?: Record<string, string>;
}
export interface PingMessage {
  type: MessageType.Ping;
}
export interface CloseMessage {
  type: MessageType.Close;
  error?: string;
  allowReconnect?: boolean;
}
export interface AckMessage {
  type: MessageType.Ack;
  sequenceId: number;
}
export interface SequenceMessage {
  type: MessageType.Sequence;
  sequenceId: number;
}

export type HubMessage =
  | InvocationMessage
  | StreamInvocationMessage
  | CompletionMessage
  | StreamItemMessage
  | CancelInvocationMessage
  | PingMessage
  | CloseMessage
  | AckMessage
  | SequenceMessage;

/** A record that is not a valid hub message; the text is what the peer sees in its Close. */
export class InvalidDataError extends Error {
  override name = "InvalidDataError";
}

export interface HandshakeRequest {
  protocol: string;
  version: number;
}

export const JSON_PROTOCOL = "json";
/** System.Text.Json's default MaxDepth, which ASP.NET Core's JsonHubProtocol keeps. */
export const JSON_MAX_DEPTH = 64;

/**
 * Deepest nesting of arrays and objects in a JSON text, counted as System.Text.Json does
 * (the message object itself is depth 1). One linear pass; stops counting once past `limit`.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0;

export function parseHandshake(record: string): HandshakeRequest {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch {
    throw new InvalidDataError("Handshake request is not valid JSON.");
  }
  if (!isRecord(value) || typeof value.protocol !== "string" || typeof value.version !== "number")
    throw new InvalidDataError("Handshake request must have a string 'protocol' and a number 'version'.");
  return { protocol: value.protocol, version: value.version };
}

/**
 * Parses and validates one record, the way ASP.NET Core's JsonHubProtocol rejects bad ones.
 * With `maxDepth`, a record nested deeper is refused: an invocation, stream item or result
 * gets `bindingError` (only that call fails), anything else throws.
 */
export function parseMessage(record: string, maxDepth?: number): HubMessage {
  let v: unknown;
  try {
    v = JSON.parse(record);
  } catch {
    throw new InvalidDataError("Error reading JSON.");
  }
  if (!isRecord(v)) throw new InvalidDataError("Message is not a JSON object.");
  const m = validate(v);
  if (maxDepth !== undefined && jsonDepthExceeds(record, maxDepth)) {
    const error = `The maximum configured depth of ${maxDepth} has been exceeded. Cannot read next JSON object.`;
    if (m.type === MessageType.Invocation || m.type === MessageType.StreamInvocation) return { ...m, arguments: [], bindingError: error };
    if (m.type === MessageType.StreamItem) return { ...m, item: undefined, bindingError: error };
    if (m.type === MessageType.Completion) return { type: m.type, invocationId: m.invocationId, bindingError: error };
    throw new InvalidDataError(error);
  }
  return m;
}

function validate(v: Record<string, unknown>): HubMessage {
  switch (v.type) {
    case MessageType.Invocation:
    case MessageType.StreamInvocation: {
      if (typeof v.target !== "string" || v.target === "") throw new InvalidDataError("Missing required property 'target'.");
      if (!Array.isArray(v.arguments)) throw new InvalidDataError("Missing required property 'arguments'.");
      if (v.invocationId !== undefined && !isId(v.invocationId)) throw new InvalidDataError("Expected 'invocationId' to be of type String.");
      if (v.type === MessageType.StreamInvocation && !isId(v.invocationId)) throw new InvalidDataError("Missing required property 'invocationId'.");
      if (v.streamIds !== undefined && !(Array.isArray(v.streamIds) && v.streamIds.every(isId)))
        throw new InvalidDataError("Expected 'streamIds' to be an array of strings.");
      return v as unknown as HubMessage;
    }
    case MessageType.StreamItem:
    case MessageType.Completion:
    case MessageType.CancelInvocation:
      if (!isId(v.invocationId)) throw new InvalidDataError("Missing required property 'invocationId'.");
      if (v.type === MessageType.Completion && v.error !== undefined && v.result !== undefined)
        throw new InvalidDataError("The 'error' and 'result' properties are mutually exclusive.");
      return v as unknown as HubMessage;
    case MessageType.Ping:
      return { type: MessageType.Ping };
    case MessageType.Close:
      return v as unknown as CloseMessage;
    case MessageType.Ack:
    case MessageType.Sequence:
      if (typeof v.sequenceId !== "number") throw new InvalidDataError("Missing required property 'sequenceId'.");
      return v as unknown as HubMessage;
    default:
      throw new InvalidDataError(v.type === undefined ? "Missing required property 'type'." : `Unknown message type '${String(v.type)}'.`);
  }
}

export function formatMessage(message: HubMessage | Record<string, unknown>): string {
  return JSON.stringify(message) + RECORD_SEPARATOR;
}
