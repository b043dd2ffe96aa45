// The two hub protocols behind one face: how a connection's bytes are cut into messages
// and how messages are written back. A connection picks one by its handshake.
import { RecordReader, VarintFrameReader } from "./frame-reader.js";
import { JSON_MAX_DEPTH, JSON_PROTOCOL, formatMessage, parseMessage, type HubMessage } from "./json-hub-protocol.js";
import { MESSAGEPACK_MAX_DEPTH, MESSAGEPACK_PROTOCOL, decodeMessagePack, encodeMessagePack } from "./messagepack-hub-protocol.js";

export type HubProtocolName = typeof JSON_PROTOCOL | typeof MESSAGEPACK_PROTOCOL;

export interface HubProtocol {
  readonly name: HubProtocolName;
  /** Highest version understood; ASP.NET Core accepts any client version up to its own. */
  readonly maxVersion: number;
  /** Writes one message with its framing. Throws when a value cannot be serialized. */
  write(message: HubMessage): Uint8Array;
  /** A reader for this protocol's framing; `parse` turns one cut-out record into a message. */
  reader(): { push(chunk: Uint8Array): void; next(): Uint8Array | undefined; readonly bufferedBytes: number };
  parse(record: Uint8Array): HubMessage;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encodeUtf8 = (s: string): Uint8Array => Buffer.from(s, "utf8");

export const jsonProtocol: HubProtocol = {
  name: JSON_PROTOCOL,
  maxVersion: 2,
  write: (m) => encodeUtf8(formatMessage(m)),
  reader: () => new RecordReader(),
  parse: (record) => {
    let text: string;
    try {
      text = utf8.decode(record);
    } catch {
      return parseMessage("\uFFFD"); // throws "Error reading JSON." like any other non-JSON record
    }
    return parseMessage(text, JSON_MAX_DEPTH);
  },
};

export const messagePackProtocol: HubProtocol = {
  name: MESSAGEPACK_PROTOCOL,
  maxVersion: 2,
  write: encodeMessagePack,
  reader: () => new VarintFrameReader(),
  parse: (record) => decodeMessagePack(record, MESSAGEPACK_MAX_DEPTH),
};

/** The protocol of that name, or undefined for one the kit does not speak. */
export function hubProtocol(name: string): HubProtocol | undefined {
  if (name === JSON_PROTOCOL) return jsonProtocol;
  if (name === MESSAGEPACK_PROTOCOL) return messagePackProtocol;
  return undefined;
}
