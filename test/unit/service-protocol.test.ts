// The service-protocol codec against the real SDK's own bytes: every line of the fixture was
// written by Microsoft.Azure.SignalR.Protocols 1.34.0 (test/dotnet/ProtocolProbe). Messages the
// service writes must come out byte for byte the same; every message must read back.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DataMessageType,
  ServiceMessageType,
  ServiceProtocolError,
  decodeServiceMessages,
  encodeServiceMessage,
  encodeServiceMessages,
  pingPairs,
  type ServiceMessage,
} from "../../src/protocol/service-protocol";
import { frame } from "../../src/protocol/varint-framing";

const golden = new Map(
  readFileSync(new URL("./fixtures/service-protocol-1.34.0.txt", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" ") as [string, string]),
);
const bytesOf = (name: string) => Uint8Array.from(Buffer.from(golden.get(name)!, "hex"));
const read = (name: string) => {
  const ms = decodeServiceMessages(bytesOf(name));
  expect(ms).toHaveLength(1);
  return ms[0]!;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex").toUpperCase();
const bin = (...b: number[]) => Uint8Array.from(b);
const pay = { json: bin(0xcd) };

describe("service protocol codec, against Microsoft.Azure.SignalR.Protocols 1.34.0", () => {
  it("the fixture holds all 43 message classes of the SDK", () => {
    expect(golden.size).toBe(43);
  });

  // What the service writes to app servers: byte-exact with the SDK's writer.
  const written: [string, ServiceMessage][] = [
    ["HandshakeResponseMessage", { type: ServiceMessageType.HandshakeResponse, error: "S_ErrorMessage", connectionId: "S_ConnectionId" }],
    ["PingMessage", { type: ServiceMessageType.Ping, pairs: ["L_Messages"] }],
    ["OpenConnectionMessage", { type: ServiceMessageType.OpenConnection, connectionId: "S_ConnectionId", claims: { c: "v" }, headers: { h: ["hv"] }, queryString: "S_QueryString", protocol: "S_Protocol", ext: { tracingId: 9 } }],
    ["CloseConnectionMessage", { type: ServiceMessageType.CloseConnection, connectionId: "S_ConnectionId", error: "S_ErrorMessage", headers: { h: ["hv"] }, ext: { tracingId: 9 } }],
    ["ConnectionDataMessage", { type: ServiceMessageType.ConnectionData, connectionId: "S_ConnectionId", payload: bin(0xab), ext: { tracingId: 9, dataType: DataMessageType.Handshake, isPartial: true } }],
    ["AckMessage", { type: ServiceMessageType.Ack, ackId: 7, status: 7, message: "S_Message", payload: null }],
    ["ClientInvocationMessage", { type: ServiceMessageType.ClientInvocation, invocationId: "S_InvocationId", connectionId: "S_ConnectionId", callerServerId: "S_CallerServerId", payloads: pay, ext: { tracingId: 9 } }],
    ["ClientCompletionMessage", { type: ServiceMessageType.ClientCompletion, invocationId: "S_InvocationId", connectionId: "S_ConnectionId", callerServerId: "S_CallerServerId", protocol: "S_Protocol", payload: bin(0xab), ext: { tracingId: 9, protocol: "S_Protocol" } }],
    ["ErrorCompletionMessage", { type: ServiceMessageType.ErrorCompletion, invocationId: "S_InvocationId", connectionId: "S_ConnectionId", callerServerId: "S_CallerServerId", error: "S_Error", ext: { tracingId: 9 } }],
    ["ServiceMappingMessage", { type: ServiceMessageType.ServiceMapping, invocationId: "S_InvocationId", connectionId: "S_ConnectionId", instanceId: "S_InstanceId" }],
    ["ServiceErrorMessage", { type: ServiceMessageType.ServiceError, error: "S_ErrorMessage" }],
    ["ServiceEventMessage", { type: ServiceMessageType.ServiceEvent, objectType: 1, id: "S_Id", kind: 1, message: "S_Message" }],
    ["HandshakeRequestMessage", { type: ServiceMessageType.HandshakeRequest, version: 7, connectionType: 7, target: "S_Target", migrationLevel: 7, allowStatefulReconnects: true }],
    ["MultiConnectionDataMessage", { type: ServiceMessageType.MultiConnectionData, connectionIds: ["L_ConnectionList"], payloads: pay, ext: { tracingId: 9, filter: "S_Filter" } }],
    ["BroadcastDataMessage", { type: ServiceMessageType.BroadcastData, excluded: ["L_ExcludedList"], payloads: pay, ext: { tracingId: 9, filter: "S_Filter" } }],
    ["GroupBroadcastDataMessage", { type: ServiceMessageType.GroupBroadcastData, group: "S_GroupName", excluded: ["L_ExcludedList"], payloads: pay, excludedUsers: ["L_ExcludedUserList"], callerUserId: "S_CallerUserId", ext: { tracingId: 9, filter: "S_Filter" } }],
    ["JoinGroupWithAckMessage", { type: ServiceMessageType.JoinGroupWithAck, connectionId: "S_ConnectionId", group: "S_GroupName", ackId: 7, ext: { tracingId: 9 } }],
    ["UserJoinGroupMessage", { type: ServiceMessageType.UserJoinGroup, userId: "S_UserId", group: "S_GroupName", ext: { tracingId: 9, ttl: 5 } }],
    ["CloseGroupConnectionsWithAckMessage", { type: ServiceMessageType.CloseGroupConnectionsWithAck, group: "S_GroupName", reason: "S_Reason", ackId: 7, excluded: ["L_ExcludedList"], ext: { tracingId: 9 } }],
  ];
  for (const [name, m] of written) {
    it(`${name}: writes the SDK's bytes and reads them back`, () => {
      expect(hex(encodeServiceMessage(m))).toBe(golden.get(name));
      expect(read(name)).toEqual(m);
    });
  }

  it("reads every other message the SDK can send, with its members", () => {
    expect(read("UserDataMessage")).toMatchObject({ type: ServiceMessageType.UserData, userId: "S_UserId", payloads: pay });
    expect(read("MultiUserDataMessage")).toMatchObject({ type: ServiceMessageType.MultiUserData, userIds: ["L_UserList"] });
    expect(read("MultiGroupBroadcastDataMessage")).toMatchObject({ type: ServiceMessageType.MultiGroupBroadcastData, groups: ["L_GroupList"] });
    expect(read("JoinGroupMessage")).toMatchObject({ type: ServiceMessageType.JoinGroup, connectionId: "S_ConnectionId", group: "S_GroupName" });
    expect(read("LeaveGroupMessage")).toMatchObject({ type: ServiceMessageType.LeaveGroup });
    expect(read("LeaveGroupWithAckMessage")).toMatchObject({ type: ServiceMessageType.LeaveGroupWithAck, ackId: 7 });
    expect(read("UserLeaveGroupMessage")).toMatchObject({ type: ServiceMessageType.UserLeaveGroup, userId: "S_UserId" });
    expect(read("UserJoinGroupWithAckMessage")).toMatchObject({ type: ServiceMessageType.UserJoinGroupWithAck, ackId: 7 });
    expect(read("UserLeaveGroupWithAckMessage")).toMatchObject({ type: ServiceMessageType.UserLeaveGroupWithAck, ackId: 7 });
    expect(read("CheckUserInGroupWithAckMessage")).toMatchObject({ type: ServiceMessageType.CheckUserInGroupWithAck, userId: "S_UserId", group: "S_GroupName", ackId: 7 });
    expect(read("CheckGroupExistenceWithAckMessage")).toMatchObject({ type: ServiceMessageType.CheckGroupExistenceWithAck, group: "S_GroupName", ackId: 7 });
    expect(read("CheckConnectionExistenceWithAckMessage")).toMatchObject({ type: ServiceMessageType.CheckConnectionExistenceWithAck, connectionId: "S_ConnectionId", ackId: 7 });
    expect(read("CheckUserExistenceWithAckMessage")).toMatchObject({ type: ServiceMessageType.CheckUserExistenceWithAck, userId: "S_UserId", ackId: 7 });
    expect(read("CloseConnectionWithAckMessage")).toMatchObject({ type: ServiceMessageType.CloseConnectionWithAck, connectionId: "", reason: "S_Reason", ackId: 7 });
    expect(read("CloseConnectionsWithAckMessage")).toMatchObject({ type: ServiceMessageType.CloseConnectionsWithAck, reason: "S_Reason", ackId: 7, excluded: ["L_ExcludedList"] });
    expect(read("CloseUserConnectionsWithAckMessage")).toMatchObject({ type: ServiceMessageType.CloseUserConnectionsWithAck, userId: "S_UserId", reason: "S_Reason", ackId: 7 });
    // Known to exist, read as their type only; the service ignores them.
    for (const [name, type] of [
      ["AccessKeyRequestMessage", ServiceMessageType.AccessKeyRequest],
      ["AccessKeyResponseMessage", ServiceMessageType.AccessKeyResponse],
      ["ConnectionReconnectMessage", ServiceMessageType.ConnectionReconnect],
      ["ConnectionFlowControlMessage", ServiceMessageType.ConnectionFlowControl],
      ["GroupMemberQueryMessage", ServiceMessageType.GroupMemberQuery],
      ["RefreshAuthMessage", ServiceMessageType.RefreshAuth],
      ["GetConnectionClaimsMessage", ServiceMessageType.GetConnectionClaims],
      ["UpdateConnectionClaimsMessage", ServiceMessageType.UpdateConnectionClaims],
    ] as const)
      expect(read(name), name).toEqual({ type });
  });

  it("reads what the real SDK sent on the wire: its handshake and its status ping", () => {
    const handshake = frame(Uint8Array.from(Buffer.from("970101 00 A0 01 80 C2".replace(/ /g, ""), "hex")));
    expect(decodeServiceMessages(handshake)).toEqual([{ type: ServiceMessageType.HandshakeRequest, version: 1, connectionType: 0, target: "", migrationLevel: 1, allowStatefulReconnects: false }]);
    const status = encodeServiceMessage({ type: ServiceMessageType.Ping, pairs: ["status", "1"] });
    expect(hex(status)).toBe("0B9303A6737461747573A131");
    expect(pingPairs((decodeServiceMessages(status)[0] as { pairs: string[] }).pairs)).toEqual(new Map([["status", "1"]]));
  });

  it("several messages in one frame; an unknown type number is read and ignored, not an error", () => {
    const both = encodeServiceMessages([
      { type: ServiceMessageType.Ping, pairs: [] },
      { type: ServiceMessageType.ServiceError, error: "x" },
    ]);
    expect(decodeServiceMessages(both).map((m) => m.type)).toEqual([ServiceMessageType.Ping, ServiceMessageType.ServiceError]);
    expect(decodeServiceMessages(frame(Uint8Array.from([0x92, 99, 0xc0])))).toEqual([{ type: ServiceMessageType.Unknown, code: 99 }]);
  });

  it("malformed input throws ServiceProtocolError naming the member, as the SDK's reader does", () => {
    const bad = (bytes: number[]) => () => decodeServiceMessages(frame(Uint8Array.from(bytes)));
    expect(bad([0x92, 0x04, 0x01])).toThrow(new ServiceProtocolError("Reading 'connectionId' as String failed."));
    expect(bad([0xc1])).toThrow(ServiceProtocolError); // not MessagePack
    expect(bad([0x01])).toThrow(/non-empty array/);
    expect(bad([0x91, 0xa1, 0x78])).toThrow(/messageType/);
    expect(() => decodeServiceMessages(Uint8Array.from([0x05, 0x91]))).toThrow(/Bad framing/);
  });
});
