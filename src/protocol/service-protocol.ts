// The link between the service and an app server: Azure SignalR's service protocol as the real
// server SDK (Microsoft.Azure.SignalR 1.34.0, `ServiceProtocol.cs`) writes it. Each message is a
// MessagePack array framed with a varint length; a WebSocket frame may hold several. Layouts were
// checked byte for byte against the SDK's own serializer (test/unit/service-protocol.test.ts).
// Optional members travel in an "extension map" keyed by small integers (ExtensibleServiceMessage).
import { Decoder, Encoder } from "@msgpack/msgpack";
import { frame, unframe } from "./varint-framing.js";

export const SERVICE_PROTOCOL_VERSION = 1;

export const enum ServiceMessageType {
  /** Not on the wire: a type number this codec doesn't know (a newer SDK's); read and ignored, as the SDK does. */
  Unknown = 0,
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
  ServiceError = 15,
  UserJoinGroup = 16,
  UserLeaveGroup = 17,
  JoinGroupWithAck = 18,
  LeaveGroupWithAck = 19,
  Ack = 20,
  CheckUserInGroupWithAck = 21,
  ServiceEvent = 22,
  CheckGroupExistenceWithAck = 23,
  CheckConnectionExistenceWithAck = 24,
  CheckUserExistenceWithAck = 25,
  UserJoinGroupWithAck = 26,
  UserLeaveGroupWithAck = 27,
  AccessKeyRequest = 28,
  AccessKeyResponse = 29,
  CloseConnectionWithAck = 30,
  CloseConnectionsWithAck = 31,
  CloseUserConnectionsWithAck = 32,
  CloseGroupConnectionsWithAck = 33,
  ClientInvocation = 34,
  ClientCompletion = 35,
  ErrorCompletion = 36,
  ServiceMapping = 37,
  ConnectionReconnect = 38,
  ConnectionFlowControl = 39,
  GroupMemberQuery = 40,
  RefreshAuth = 41,
  GetConnectionClaims = 42,
  UpdateConnectionClaims = 43,
}

/**
 * Message types the codec knows exist but reads only as their type: the real SDK's parser
 * returns null for types it doesn't know, and a service must not close a link over them either.
 */
export const OPAQUE_MESSAGE_TYPES = [
  ServiceMessageType.AccessKeyRequest,
  ServiceMessageType.AccessKeyResponse,
  ServiceMessageType.ConnectionReconnect,
  ServiceMessageType.ConnectionFlowControl,
  ServiceMessageType.GroupMemberQuery,
  ServiceMessageType.RefreshAuth,
  ServiceMessageType.GetConnectionClaims,
  ServiceMessageType.UpdateConnectionClaims,
] as const;
export type OpaqueMessageType = (typeof OPAQUE_MESSAGE_TYPES)[number];

/** Header names of the server SDK (the spec's `Asrs-Migrated-*` spellings are out of date). */
export const MIGRATE_FROM_HEADER = "Asrs-Migrate-From";
export const MIGRATE_TO_HEADER = "Asrs-Migrate-To";
/** The app server's id, on the WebSocket upgrade of each of its links. */
export const SERVER_ID_HEADER = "X-ASRS-Server-Id";

/** Ping keys and values (RuntimeServicePingMessage). A ping is a flat key, value, key, value… list. */
export const SHUTDOWN_PING_KEY = "shutdown";
export const FINACK = "finack";
export const STATUS_PING_KEY = "status";
export const SERVERS_PING_KEY = "servers";
export const ECHO_PING_KEY = "echo";

/** Status of an Ack (the SDK's AckStatus). */
export const enum AckStatus {
  Ok = 1,
  NotFound = 2,
  Timeout = 3,
  InternalServerError = 4,
}

/** ConnectionData's "what is in this payload" hint (DataMessageType), extension member 5. */
export const enum DataMessageType {
  Unknown = 0,
  Handshake = 1,
  Invocation = 2,
  Other = 3,
  Close = 4,
}

/** The optional members of ExtensibleServiceMessage, by their wire keys. */
export interface Extensions {
  tracingId?: number | bigint; // 1
  ttl?: number; // 2
  protocol?: string; // 3
  filter?: string; // 4
  dataType?: DataMessageType; // 5
  isPartial?: boolean; // 6
}

/** Payloads keyed by hub protocol name ("json", "messagepack"). */
export type Payloads = Record<string, Uint8Array>;
export type Headers = Record<string, string[]>;

import T = ServiceMessageType;
type WithExt = { ext?: Extensions };

export type ServiceMessage = WithExt &
  (
    | { type: T.HandshakeRequest; version: number; connectionType: number; target: string; migrationLevel: number; allowStatefulReconnects: boolean }
    | { type: T.HandshakeResponse; error: string | null; connectionId?: string }
    | { type: T.Ping; pairs: string[] }
    | { type: T.OpenConnection; connectionId: string; claims: Record<string, string>; headers: Headers; queryString: string; protocol: string }
    | { type: T.CloseConnection; connectionId: string; error: string; headers: Headers }
    | { type: T.ConnectionData; connectionId: string; payload: Uint8Array }
    | { type: T.MultiConnectionData; connectionIds: string[]; payloads: Payloads }
    | { type: T.UserData; userId: string; payloads: Payloads }
    | { type: T.MultiUserData; userIds: string[]; payloads: Payloads }
    | { type: T.BroadcastData; excluded: string[]; payloads: Payloads }
    | { type: T.JoinGroup | T.LeaveGroup; connectionId: string; group: string }
    | { type: T.GroupBroadcastData; group: string; excluded: string[]; payloads: Payloads; excludedUsers?: string[]; callerUserId?: string | null }
    | { type: T.MultiGroupBroadcastData; groups: string[]; payloads: Payloads }
    | { type: T.ServiceError; error: string }
    | { type: T.UserJoinGroup | T.UserLeaveGroup; userId: string; group: string }
    | { type: T.JoinGroupWithAck | T.LeaveGroupWithAck; connectionId: string; group: string; ackId: number }
    | { type: T.Ack; ackId: number; status: number; message: string; payload?: Uint8Array | null }
    | { type: T.CheckUserInGroupWithAck; userId: string; group: string; ackId: number }
    | { type: T.ServiceEvent; objectType: number; id: string; kind: number; message: string }
    | { type: T.CheckGroupExistenceWithAck; group: string; ackId: number }
    | { type: T.CheckConnectionExistenceWithAck; connectionId: string; ackId: number }
    | { type: T.CheckUserExistenceWithAck; userId: string; ackId: number }
    | { type: T.UserJoinGroupWithAck | T.UserLeaveGroupWithAck; userId: string; group: string; ackId: number }
    | { type: T.CloseConnectionWithAck; connectionId: string; reason: string; ackId: number }
    | { type: T.CloseConnectionsWithAck; reason: string; ackId: number; excluded: string[] }
    | { type: T.CloseUserConnectionsWithAck; userId: string; reason: string; ackId: number; excluded: string[] }
    | { type: T.CloseGroupConnectionsWithAck; group: string; reason: string; ackId: number; excluded: string[] }
    | { type: T.ClientInvocation; invocationId: string; connectionId: string; callerServerId: string; payloads: Payloads }
    | { type: T.ClientCompletion; invocationId: string; connectionId: string; callerServerId: string; protocol: string; payload: Uint8Array }
    | { type: T.ErrorCompletion; invocationId: string; connectionId: string; callerServerId: string; error: string }
    | { type: T.ServiceMapping; invocationId: string; connectionId: string; instanceId: string }
    | { type: OpaqueMessageType }
    | { type: T.Unknown; code: number }
  );

/** A service-protocol message that could not be read; the link that sent it is closed with this text. */
export class ServiceProtocolError extends Error {
  override name = "ServiceProtocolError";
}

export function encodeServiceMessage(m: ServiceMessage): Uint8Array {
  return frame(encodeTopArray(toArray(m)));
}

/**
 * Encodes the message's top array item by item. The extension map needs integer keys (the SDK
 * reads them with ReadInt32) and @msgpack/msgpack writes every map key as a string, so a `Map`
 * item is written by hand: header, then each key and value encoded on their own.
 */
// One encoder and one decoder for every message: msgpack's encode()/decode() build a new one
// (with its 2 KB buffer) per call, which cost more than the encoding of these small messages.
const encoder = new Encoder({ useBigInt64: true });
const decoder = new Decoder({ useBigInt64: false });

function encodeTopArray(items: unknown[]): Uint8Array {
  const parts: Uint8Array[] = [items.length < 16 ? Uint8Array.of(0x90 + items.length) : Uint8Array.of(0xdc, items.length >> 8, items.length & 0xff)];
  for (const item of items) {
    if (item instanceof Map) {
      parts.push(Uint8Array.of(0x80 + item.size)); // at most 6 members: always a fixmap
      for (const [k, v] of item) parts.push(encoder.encode(k), encoder.encode(v));
    } else parts.push(encoder.encode(item));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
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

/** The extension map as the SDK writes it: only the members that are set, in key order. */
function extMap(e: Extensions | undefined): Map<number, unknown> {
  const m = new Map<number, unknown>();
  if (!e) return m;
  if (e.tracingId !== undefined) m.set(1, e.tracingId);
  if (e.ttl !== undefined) m.set(2, e.ttl);
  if (e.protocol !== undefined) m.set(3, e.protocol);
  if (e.filter !== undefined) m.set(4, e.filter);
  if (e.dataType !== undefined && e.dataType !== DataMessageType.Unknown) m.set(5, e.dataType);
  if (e.isPartial) m.set(6, true);
  return m;
}

function toArray(m: ServiceMessage): unknown[] {
  const x = extMap(m.ext);
  switch (m.type) {
    case ServiceMessageType.HandshakeRequest:
      return [m.type, m.version, m.connectionType, m.target, m.migrationLevel, x, m.allowStatefulReconnects];
    case ServiceMessageType.HandshakeResponse:
      return [m.type, m.error, x, m.connectionId ?? null];
    case ServiceMessageType.Ping:
      return [m.type, ...m.pairs];
    case ServiceMessageType.OpenConnection:
      return [m.type, m.connectionId, m.claims, m.headers, m.queryString, extMap({ ...m.ext, protocol: m.protocol })];
    case ServiceMessageType.CloseConnection:
      return [m.type, m.connectionId, m.error, m.headers, x];
    case ServiceMessageType.ConnectionData:
      return [m.type, m.connectionId, m.payload, x];
    case ServiceMessageType.MultiConnectionData:
      return [m.type, m.connectionIds, m.payloads, x];
    case ServiceMessageType.UserData:
      return [m.type, m.userId, m.payloads, x];
    case ServiceMessageType.MultiUserData:
      return [m.type, m.userIds, m.payloads, x];
    case ServiceMessageType.BroadcastData:
      return [m.type, m.excluded, m.payloads, x];
    case ServiceMessageType.JoinGroup:
    case ServiceMessageType.LeaveGroup:
      return [m.type, m.connectionId, m.group, x];
    case ServiceMessageType.GroupBroadcastData:
      return [m.type, m.group, m.excluded, m.payloads, x, m.excludedUsers ?? [], m.callerUserId ?? null];
    case ServiceMessageType.MultiGroupBroadcastData:
      return [m.type, m.groups, m.payloads, x];
    case ServiceMessageType.ServiceError:
      return [m.type, m.error];
    case ServiceMessageType.UserJoinGroup:
    case ServiceMessageType.UserLeaveGroup:
      return [m.type, m.userId, m.group, x];
    case ServiceMessageType.JoinGroupWithAck:
    case ServiceMessageType.LeaveGroupWithAck:
      return [m.type, m.connectionId, m.group, m.ackId, x];
    case ServiceMessageType.Ack:
      return [m.type, m.ackId, m.status, m.message, x, m.payload ?? null];
    case ServiceMessageType.CheckUserInGroupWithAck:
      return [m.type, m.userId, m.group, m.ackId, x];
    case ServiceMessageType.ServiceEvent:
      return [m.type, m.objectType, m.id, m.kind, m.message, x];
    case ServiceMessageType.CheckGroupExistenceWithAck:
      return [m.type, m.group, m.ackId, x];
    case ServiceMessageType.CheckConnectionExistenceWithAck:
      return [m.type, m.connectionId, m.ackId, x];
    case ServiceMessageType.CheckUserExistenceWithAck:
      return [m.type, m.userId, m.ackId, x];
    case ServiceMessageType.UserJoinGroupWithAck:
    case ServiceMessageType.UserLeaveGroupWithAck:
      return [m.type, m.userId, m.group, m.ackId, x];
    case ServiceMessageType.CloseConnectionWithAck:
      return [m.type, m.connectionId, m.reason, m.ackId, x];
    case ServiceMessageType.CloseConnectionsWithAck:
      return [m.type, m.reason, m.ackId, m.excluded, x];
    case ServiceMessageType.CloseUserConnectionsWithAck:
      return [m.type, m.userId, m.reason, m.ackId, m.excluded, x];
    case ServiceMessageType.CloseGroupConnectionsWithAck:
      return [m.type, m.group, m.reason, m.ackId, m.excluded, x];
    case ServiceMessageType.ClientInvocation:
      return [m.type, m.invocationId, m.connectionId, m.callerServerId, m.payloads, x];
    case ServiceMessageType.ClientCompletion:
      return [m.type, m.invocationId, m.connectionId, m.callerServerId, m.protocol, m.payload, x];
    case ServiceMessageType.ErrorCompletion:
      return [m.type, m.invocationId, m.connectionId, m.callerServerId, m.error, x];
    case ServiceMessageType.ServiceMapping:
      return [m.type, m.invocationId, m.connectionId, m.instanceId, x];
    default:
      throw new ServiceProtocolError(`Message type ${m.type} is read-only in this codec.`);
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
  return parts.map(decodeOne);
}

function decodeOne(p: Uint8Array): ServiceMessage {
  let value: unknown;
  try {
    value = decoder.decode(p);
  } catch (e) {
    throw new ServiceProtocolError(`Not MessagePack: ${(e as Error).message}`);
  }
  return fromArray(value);
}

// ---- Readers: each names the member it reads, as the SDK's own errors do ------------

// The SDK's ReadString takes nil as null; we read it as "" (no member is meaningful when null).
const str = (v: unknown, what: string): string => {
  if (v == null) return "";
  if (typeof v !== "string") throw new ServiceProtocolError(`Reading '${what}' as String failed.`);
  return v;
};
const optStr = str;
const int = (v: unknown, what: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new ServiceProtocolError(`Reading '${what}' as Int32 failed.`);
  return v;
};
const strings = (v: unknown, what: string): string[] => {
  if (v == null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new ServiceProtocolError(`Reading '${what}' as an array of String failed.`);
  return v as string[];
};
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const stringMap = (v: unknown, what: string): Record<string, string> => {
  if (v == null) return {};
  if (!isMap(v) || !Object.values(v).every((s) => typeof s === "string")) throw new ServiceProtocolError(`Reading '${what}' as a map of String failed.`);
  return v as Record<string, string>;
};
const headerMap = (v: unknown): Headers => {
  if (v == null) return {};
  if (!isMap(v)) throw new ServiceProtocolError("Reading 'headers' as a map failed.");
  const out: Headers = {};
  for (const [k, val] of Object.entries(v)) out[k] = typeof val === "string" ? [val] : strings(val, `headers[${k}]`);
  return out;
};
const bytes = (v: unknown, what: string): Uint8Array => {
  if (!(v instanceof Uint8Array)) throw new ServiceProtocolError(`Reading '${what}' as Binary failed.`);
  return v;
};
const payloads = (v: unknown): Payloads => {
  if (v == null) return {};
  if (!isMap(v)) throw new ServiceProtocolError("Reading 'payloads' as a map of Binary failed.");
  const out: Payloads = {};
  for (const [k, val] of Object.entries(v)) out[k] = bytes(val, `payloads[${k}]`);
  return out;
};

/** Reads the extension map; unknown keys are skipped, as the SDK skips them. */
function readExt(v: unknown): Extensions | undefined {
  if (v == null) return undefined;
  if (!isMap(v)) throw new ServiceProtocolError("Reading the extension members as a map failed.");
  const e: Extensions = {};
  for (const [k, val] of Object.entries(v)) {
    if (k === "1" && (typeof val === "number" || typeof val === "bigint")) e.tracingId = val;
    else if (k === "2" && typeof val === "number") e.ttl = val;
    else if (k === "3" && typeof val === "string") e.protocol = val;
    else if (k === "4" && typeof val === "string") e.filter = val;
    else if (k === "5" && typeof val === "number") e.dataType = val;
    else if (k === "6" && typeof val === "boolean") e.isPartial = val;
  }
  return Object.keys(e).length > 0 ? e : undefined;
}

const withExt = <M extends ServiceMessage>(m: M, ext: unknown): M => {
  const e = readExt(ext);
  return e ? { ...m, ext: e } : m;
};

function fromArray(v: unknown): ServiceMessage {
  if (!Array.isArray(v) || v.length === 0) throw new ServiceProtocolError("A service message must be a non-empty array.");
  const t = v[0] as unknown;
  if (typeof t !== "number" || !Number.isInteger(t)) throw new ServiceProtocolError("Reading 'messageType' as Int32 failed.");
  switch (t) {
    case ServiceMessageType.HandshakeRequest:
      return withExt(
        { type: t, version: int(v[1], "version"), connectionType: v.length >= 4 ? int(v[2], "connectionType") : 0, target: v.length >= 4 ? optStr(v[3], "target") : "", migrationLevel: v.length >= 5 ? int(v[4], "migratableStatus") : 0, allowStatefulReconnects: v[6] === true },
        v[5],
      );
    case ServiceMessageType.HandshakeResponse: {
      const error = v[1] == null ? null : str(v[1], "errorMessage");
      const m: ServiceMessage = v[3] == null ? { type: t, error } : { type: t, error, connectionId: str(v[3], "connectionId") };
      return withExt(m, v[2]);
    }
    case ServiceMessageType.Ping:
      return { type: t, pairs: v.slice(1).map((s, i) => str(s, `messages[${i}]`)) };
    case ServiceMessageType.OpenConnection: {
      // The protocol is required by the SDK ("ArgumentNullException (protocolName)" without it).
      const { protocol = "", ...rest } = readExt(v[5]) ?? {};
      const m: ServiceMessage = { type: t, connectionId: str(v[1], "connectionId"), claims: stringMap(v[2], "claims"), headers: headerMap(v[3]), queryString: optStr(v[4], "queryString"), protocol };
      return Object.keys(rest).length > 0 ? { ...m, ext: rest } : m;
    }
    case ServiceMessageType.CloseConnection:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), error: optStr(v[2], "errorMessage"), headers: headerMap(v[3]) }, v[4]);
    case ServiceMessageType.ConnectionData:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), payload: bytes(v[2], "payload") }, v[3]);
    case ServiceMessageType.MultiConnectionData:
      return withExt({ type: t, connectionIds: strings(v[1], "connectionList"), payloads: payloads(v[2]) }, v[3]);
    case ServiceMessageType.UserData:
      return withExt({ type: t, userId: str(v[1], "userId"), payloads: payloads(v[2]) }, v[3]);
    case ServiceMessageType.MultiUserData:
      return withExt({ type: t, userIds: strings(v[1], "userList"), payloads: payloads(v[2]) }, v[3]);
    case ServiceMessageType.BroadcastData:
      return withExt({ type: t, excluded: strings(v[1], "excludedList"), payloads: payloads(v[2]) }, v[3]);
    case ServiceMessageType.JoinGroup:
    case ServiceMessageType.LeaveGroup:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), group: str(v[2], "groupName") }, v[3]);
    case ServiceMessageType.GroupBroadcastData:
      return withExt(
        { type: t, group: str(v[1], "groupName"), excluded: strings(v[2], "excludedList"), payloads: payloads(v[3]), excludedUsers: strings(v[5], "excludedUserList"), callerUserId: v[6] == null ? null : str(v[6], "callerUserId") },
        v[4],
      );
    case ServiceMessageType.MultiGroupBroadcastData:
      return withExt({ type: t, groups: strings(v[1], "groupList"), payloads: payloads(v[2]) }, v[3]);
    case ServiceMessageType.ServiceError:
      return { type: t, error: optStr(v[1], "errorMessage") };
    case ServiceMessageType.UserJoinGroup:
    case ServiceMessageType.UserLeaveGroup:
      return withExt({ type: t, userId: str(v[1], "userId"), group: str(v[2], "groupName") }, v[3]);
    case ServiceMessageType.JoinGroupWithAck:
    case ServiceMessageType.LeaveGroupWithAck:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), group: str(v[2], "groupName"), ackId: int(v[3], "ackId") }, v[4]);
    case ServiceMessageType.Ack:
      return withExt({ type: t, ackId: int(v[1], "ackId"), status: int(v[2], "status"), message: optStr(v[3], "message"), payload: v[5] == null ? null : bytes(v[5], "payload") }, v[4]);
    case ServiceMessageType.CheckUserInGroupWithAck:
      return withExt({ type: t, userId: str(v[1], "userId"), group: str(v[2], "groupName"), ackId: int(v[3], "ackId") }, v[4]);
    case ServiceMessageType.ServiceEvent:
      return withExt({ type: t, objectType: int(v[1], "type"), id: optStr(v[2], "id"), kind: int(v[3], "kind"), message: optStr(v[4], "message") }, v[5]);
    case ServiceMessageType.CheckGroupExistenceWithAck:
      return withExt({ type: t, group: str(v[1], "groupName"), ackId: int(v[2], "ackId") }, v[3]);
    case ServiceMessageType.CheckConnectionExistenceWithAck:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), ackId: int(v[2], "ackId") }, v[3]);
    case ServiceMessageType.CheckUserExistenceWithAck:
      return withExt({ type: t, userId: str(v[1], "userId"), ackId: int(v[2], "ackId") }, v[3]);
    case ServiceMessageType.UserJoinGroupWithAck:
    case ServiceMessageType.UserLeaveGroupWithAck:
      return withExt({ type: t, userId: str(v[1], "userId"), group: str(v[2], "groupName"), ackId: int(v[3], "ackId") }, v[4]);
    case ServiceMessageType.CloseConnectionWithAck:
      return withExt({ type: t, connectionId: str(v[1], "connectionId"), reason: optStr(v[2], "reason"), ackId: int(v[3], "ackId") }, v[4]);
    case ServiceMessageType.CloseConnectionsWithAck:
      return withExt({ type: t, reason: optStr(v[1], "reason"), ackId: int(v[2], "ackId"), excluded: strings(v[3], "excluded") }, v[4]);
    case ServiceMessageType.CloseUserConnectionsWithAck:
      return withExt({ type: t, userId: str(v[1], "userId"), reason: optStr(v[2], "reason"), ackId: int(v[3], "ackId"), excluded: strings(v[4], "excluded") }, v[5]);
    case ServiceMessageType.CloseGroupConnectionsWithAck:
      return withExt({ type: t, group: str(v[1], "groupName"), reason: optStr(v[2], "reason"), ackId: int(v[3], "ackId"), excluded: strings(v[4], "excluded") }, v[5]);
    case ServiceMessageType.ClientInvocation:
      return withExt({ type: t, invocationId: str(v[1], "invocationId"), connectionId: str(v[2], "connectionId"), callerServerId: str(v[3], "callerServerId"), payloads: payloads(v[4]) }, v[5]);
    case ServiceMessageType.ClientCompletion:
      return withExt(
        { type: t, invocationId: str(v[1], "invocationId"), connectionId: str(v[2], "connectionId"), callerServerId: str(v[3], "callerServerId"), protocol: str(v[4], "protocol"), payload: bytes(v[5], "payload") },
        v[6],
      );
    case ServiceMessageType.ErrorCompletion:
      return withExt({ type: t, invocationId: str(v[1], "invocationId"), connectionId: str(v[2], "connectionId"), callerServerId: str(v[3], "callerServerId"), error: optStr(v[4], "error") }, v[5]);
    case ServiceMessageType.ServiceMapping:
      return withExt({ type: t, invocationId: str(v[1], "invocationId"), connectionId: str(v[2], "connectionId"), instanceId: optStr(v[3], "instanceId") }, v[4]);
    default:
      if ((OPAQUE_MESSAGE_TYPES as readonly number[]).includes(t)) return { type: t as OpaqueMessageType };
      return { type: ServiceMessageType.Unknown, code: t };
  }
}

/** Reads a ping's key/value pairs into a map. */
export function pingPairs(pairs: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < pairs.length; i += 2) m.set(pairs[i]!, pairs[i + 1]!);
  return m;
}
