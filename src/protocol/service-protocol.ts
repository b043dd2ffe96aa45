// The link between the service and an app server, modelled on Azure SignalR's
// service protocol (Azure/azure-signalr specs/ServiceProtocol.md): each message is
// a MessagePack array, framed with a varint length; a WebSocket frame may hold several.
import { decode, encode } from "@msgpack/msgpack";
import { frame, unframe } from "./varint-framing.js";

export const SERVICE_PROTOCOL_VERSION = 1;

export const enum ServiceMessageType {
  HandshakeRequest = 1,
  HandshakeResponse = 2,
  Ping = 3,
  OpenConnection = 4,
  CloseConnection = 5,
  ConnectionData = 6,
  MultiConnectionData = 7,
  UserData = 8,
  MultiUserData = 9,
  BroadcastData = 10,
  JoinGroup = 11,
  LeaveGroup = 12,
  GroupBroadcastData = 13,
  MultiGroupBroadcastData = 14,
  JoinGroupWithAck = 18,
  LeaveGroupWithAck = 19,
  Ack = 20,
}

/** Real header names of the server SDK (the spec's `Asrs-Migrated-*` spellings are out of date). */
export const MIGRATE_FROM_HEADER = "Asrs-Migrate-From";
export const MIGRATE_TO_HEADER = "Asrs-Migrate-To";

/** Ping keys and values of graceful shutdown (FIN / FINACK). */
export const SHUTDOWN_PING_KEY = "shutdown";
export const FINACK = "finack";

export const enum AckStatus {
  Ok = 1,
  NotFound = 2,
  Timeout = 3,
  InternalServerError = 4,
}

/** Payloads keyed by hub protocol name ("json", later "messagepack"). */
export type Payloads = Record<string, Uint8Array>;
export type Headers = Record<string, string[]>;

export type ServiceMessage =
  | { type: ServiceMessageType.HandshakeRequest; version: number; connectionType: number; target: string; migrationLevel: number; members: Record<string, string> }
  | { type: ServiceMessageType.HandshakeResponse; error: string | null; connectionId?: string }
  | { type: ServiceMessageType.Ping; pairs: string[] }
  | { type: ServiceMessageType.OpenConnection; connectionId: string; claims: Record<string, string>; headers: Headers }
  | { type: ServiceMessageType.CloseConnection; connectionId: string; error: string; headers: Headers }
  | { type: ServiceMessageType.ConnectionData; connectionId: string; payload: Uint8Array }
  | { type: ServiceMessageType.MultiConnectionData; connectionIds: string[]; payloads: Payloads }
  | { type: ServiceMessageType.UserData; userId: string; payloads: Payloads }
  | { type: ServiceMessageType.MultiUserData; userIds: string[]; payloads: Payloads }
  | { type: ServiceMessageType.BroadcastData; excluded: string[]; payloads: Payloads }
  | { type: ServiceMessageType.JoinGroup | ServiceMessageType.LeaveGroup; connectionId: string; group: string }
  | { type: ServiceMessageType.GroupBroadcastData; group: string; excluded: string[]; payloads: Payloads }
  | { type: ServiceMessageType.MultiGroupBroadcastData; groups: string[]; payloads: Payloads }
  | { type: ServiceMessageType.JoinGroupWithAck | ServiceMessageType.LeaveGroupWithAck; connectionId: string; group: string; ackId: number }
  | { type: ServiceMessageType.Ack; ackId: number; status: number; message: string };

/** A service-protocol message that could not be read; the link that sent it is closed with this text. */
export class ServiceProtocolError extends Error {
  override name = "ServiceProtocolError";
}

export function encodeServiceMessage(m: ServiceMessage): Uint8Array {
  return frame(encode(toArray(m)));
}

export function encodeServiceMessages(ms: ServiceMessage[]): Uint8Array {
  const parts = ms.map(encodeServiceMessage);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function toArray(m: ServiceMessage): unknown[] {
  switch (m.type) {
    case ServiceMessageType.HandshakeRequest:
      return [m.type, m.version, m.connectionType, m.target, m.migrationLevel, m.members];
    case ServiceMessageType.HandshakeResponse:
      return m.connectionId === undefined ? [m.type, m.error, {}] : [m.type, m.error, {}, m.connectionId];
    case ServiceMessageType.Ping:
      return [m.type, m.pairs];
    case ServiceMessageType.OpenConnection:
      return [m.type, m.connectionId, m.claims, m.headers, {}];
    case ServiceMessageType.CloseConnection:
      return [m.type, m.connectionId, m.error, m.headers, {}];
    case ServiceMessageType.ConnectionData:
      return [m.type, m.connectionId, m.payload, {}];
    case ServiceMessageType.MultiConnectionData:
      return [m.type, m.connectionIds, m.payloads, {}];
    case ServiceMessageType.UserData:
      return [m.type, m.userId, m.payloads, {}];
    case ServiceMessageType.MultiUserData:
      return [m.type, m.userIds, m.payloads, {}];
    case ServiceMessageType.BroadcastData:
      return [m.type, m.excluded, m.payloads, {}];
    case ServiceMessageType.JoinGroup:
    case ServiceMessageType.LeaveGroup:
      return [m.type, m.connectionId, m.group, {}];
    case ServiceMessageType.GroupBroadcastData:
      return [m.type, m.group, m.excluded, m.payloads, {}];
    case ServiceMessageType.MultiGroupBroadcastData:
      return [m.type, m.groups, m.payloads, {}];
    case ServiceMessageType.JoinGroupWithAck:
    case ServiceMessageType.LeaveGroupWithAck:
      return [m.type, m.connectionId, m.group, m.ackId, {}];
    case ServiceMessageType.Ack:
      return [m.type, m.ackId, m.status, m.message, {}];
  }
}

/** Decodes every message of one WebSocket frame; throws ServiceProtocolError on anything malformed. */
export function decodeServiceMessages(data: Uint8Array): ServiceMessage[] {
  let parts: Uint8Array[];
  try {
    parts = unframe(data);
  } catch (e) {
    throw new ServiceProtocolError(`Bad framing: ${(e as Error).message}`);
  }
  return parts.map((p) => {
    let value: unknown;
    try {
      value = decode(p);
    } catch (e) {
      throw new ServiceProtocolError(`Not MessagePack: ${(e as Error).message}`);
    }
    return fromArray(value);
  });
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new ServiceProtocolError(`${what} must be a string.`);
  return v;
};
const int = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new ServiceProtocolError(`${what} must be an integer.`);
  return v;
};
const strings = (v: unknown, what: string): string[] => {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new ServiceProtocolError(`${what} must be an array of strings.`);
  return v as string[];
};
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const stringMap = (v: unknown, what: string): Record<string, string> => {
  if (v === null || v === undefined) return {};
  if (!isMap(v) || !Object.values(v).every((s) => typeof s === "string")) throw new ServiceProtocolError(`${what} must be a map of strings.`);
  return v as Record<string, string>;
};
const headerMap = (v: unknown): Headers => {
  if (v === null || v === undefined) return {};
  if (!isMap(v)) throw new ServiceProtocolError("Headers must be a map.");
  const out: Headers = {};
  for (const [k, val] of Object.entries(v)) out[k] = typeof val === "string" ? [val] : strings(val, `Header '${k}'`);
  return out;
};
const bytes = (v: unknown, what: string): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw new ServiceProtocolError(`${what} must be binary.`);
  return v;
};
const payloads = (v: unknown): Payloads => {
  if (!isMap(v)) throw new ServiceProtocolError("Payloads must be a map of protocol name to binary.");
  const out: Payloads = {};
  for (const [k, val] of Object.entries(v)) out[k] = bytes(val, `Payload '${k}'`);
  return out;
};

function fromArray(v: unknown): ServiceMessage {
  if (!Array.isArray(v) || v.length === 0) throw new ServiceProtocolError("A service message must be a non-empty array.");
  const t = v[0];
  switch (t) {
    case ServiceMessageType.HandshakeRequest:
      return { type: t, version: int(v[1], "Version"), connectionType: int(v[2] ?? 0, "ConnectionType"), target: v[3] == null ? "" : str(v[3], "Target"), migrationLevel: v[4] == null ? 0 : int(v[4], "MigrationLevel"), members: stringMap(v[5], "ExtensibleMembers") };
    case ServiceMessageType.HandshakeResponse:
      return v[3] == null ? { type: t, error: v[1] == null ? null : str(v[1], "ErrorMessage") } : { type: t, error: v[1] == null ? null : str(v[1], "ErrorMessage"), connectionId: str(v[3], "ConnectionId") };
    case ServiceMessageType.Ping:
      return { type: t, pairs: strings(v[1], "Ping messages") };
    case ServiceMessageType.OpenConnection:
      return { type: t, connectionId: str(v[1], "ConnectionId"), claims: stringMap(v[2], "Claims"), headers: headerMap(v[3]) };
    case ServiceMessageType.CloseConnection:
      return { type: t, connectionId: str(v[1], "ConnectionId"), error: v[2] == null ? "" : str(v[2], "ErrorMessage"), headers: headerMap(v[3]) };
    case ServiceMessageType.ConnectionData:
      return { type: t, connectionId: str(v[1], "ConnectionId"), payload: bytes(v[2], "Payload") };
    case ServiceMessageType.MultiConnectionData:
      return { type: t, connectionIds: strings(v[1], "ConnectionList"), payloads: payloads(v[2]) };
    case ServiceMessageType.UserData:
      return { type: t, userId: str(v[1], "UserId"), payloads: payloads(v[2]) };
    case ServiceMessageType.MultiUserData:
      return { type: t, userIds: strings(v[1], "UserList"), payloads: payloads(v[2]) };
    case ServiceMessageType.BroadcastData:
      return { type: t, excluded: strings(v[1], "ExcludedList"), payloads: payloads(v[2]) };
    case ServiceMessageType.JoinGroup:
    case ServiceMessageType.LeaveGroup:
      return { type: t, connectionId: str(v[1], "ConnectionId"), group: str(v[2], "GroupName") };
    case ServiceMessageType.GroupBroadcastData:
      return { type: t, group: str(v[1], "GroupName"), excluded: strings(v[2], "ExcludedList"), payloads: payloads(v[3]) };
    case ServiceMessageType.MultiGroupBroadcastData:
      return { type: t, groups: strings(v[1], "GroupList"), payloads: payloads(v[2]) };
    case ServiceMessageType.JoinGroupWithAck:
    case ServiceMessageType.LeaveGroupWithAck:
      return { type: t, connectionId: str(v[1], "ConnectionId"), group: str(v[2], "GroupName"), ackId: int(v[3], "AckId") };
    case ServiceMessageType.Ack:
      return { type: t, ackId: int(v[1], "AckId"), status: int(v[2], "Status"), message: v[3] == null ? "" : str(v[3], "Message") };
    default:
      throw new ServiceProtocolError(`Unknown service message type '${String(t)}'.`);
  }
}

/** Reads a ping's key/value pairs into a map. */
export function pingPairs(pairs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) m.set(pairs[i]!, pairs[i + 1]!);
  return m;
}
