// The kit's MessagePack codec against the real client's (@microsoft/signalr-protocol-msgpack):
// every message type both ways, the value mapping, framing in arbitrary chunks, bad input.
import { describe, expect, it } from "vitest";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { MessageType as ClientType, NullLogger, type HubMessage as ClientMessage } from "@microsoft/signalr";
import { encode } from "@msgpack/msgpack";
import { decodeMessagePack, encodeMessagePack } from "../../src/protocol/messagepack-hub-protocol.js";
import { MessageType, InvalidDataError, type HubMessage } from "../../src/protocol/json-hub-protocol.js";
import { RecordReader, VarintFrameReader, FramingError } from "../../src/protocol/frame-reader.js";
import { frame } from "../../src/protocol/varint-framing.js";
import { messagePackProtocol } from "../../src/protocol/hub-protocol.js";

const client = new MessagePackHubProtocol();

/** Client-written bytes → the kit's messages (one per frame). */
function fromClient(m: ClientMessage): HubMessage[] {
  const bytes = new Uint8Array(client.writeMessage(m));
  const reader = new VarintFrameReader();
  reader.push(bytes);
  const out: HubMessage[] = [];
  for (let f = reader.next(); f; f = reader.next()) out.push(decodeMessagePack(f));
  return out;
}
/** Kit-written bytes → what the client parses. */
const toClient = (m: HubMessage): ClientMessage[] => {
  const b = encodeMessagePack(m);
  return client.parseMessages(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, NullLogger.instance);
};

describe("MessagePack hub protocol: the real client's bytes", () => {
  it("reads every message the client writes", () => {
    expect(fromClient({ type: ClientType.Invocation, invocationId: "1", target: "Echo", arguments: [1, "x", null, true, 1.5, [1], { a: 1 }], streamIds: [] })).toEqual([
      { type: MessageType.Invocation, invocationId: "1", target: "Echo", arguments: [1, "x", null, true, 1.5, [1], { a: 1 }] },
    ]);
    expect(fromClient({ type: ClientType.Invocation, target: "Send", arguments: [], streamIds: ["2"] })).toEqual([
      { type: MessageType.Invocation, target: "Send", arguments: [], streamIds: ["2"] },
    ]);
    expect(fromClient({ type: ClientType.StreamInvocation, invocationId: "3", target: "Counter", arguments: [5], streamIds: [] })).toEqual([
      { type: MessageType.StreamInvocation, invocationId: "3", target: "Counter", arguments: [5] },
    ]);
    expect(fromClient({ type: ClientType.StreamItem, invocationId: "2", item: { n: 1 } })).toEqual([{ type: MessageType.StreamItem, invocationId: "2", item: { n: 1 } }]);
    expect(fromClient({ type: ClientType.Completion, invocationId: "2" })).toEqual([{ type: MessageType.Completion, invocationId: "2" }]);
    expect(fromClient({ type: ClientType.Completion, invocationId: "s1", result: 42 })).toEqual([{ type: MessageType.Completion, invocationId: "s1", result: 42 }]);
    expect(fromClient({ type: ClientType.Completion, invocationId: "s1", error: "nope" })).toEqual([{ type: MessageType.Completion, invocationId: "s1", error: "nope" }]);
    expect(fromClient({ type: ClientType.CancelInvocation, invocationId: "3" })).toEqual([{ type: MessageType.CancelInvocation, invocationId: "3" }]);
    expect(fromClient({ type: ClientType.Ping })).toEqual([{ type: MessageType.Ping }]);
    expect(fromClient({ type: ClientType.Ack, sequenceId: 7 })).toEqual([{ type: MessageType.Ack, sequenceId: 7 }]);
    expect(fromClient({ type: ClientType.Sequence, sequenceId: 8 })).toEqual([{ type: MessageType.Sequence, sequenceId: 8 }]);
    expect(fromClient({ type: ClientType.Close } as ClientMessage)).toEqual([{ type: MessageType.Close }]);
  });

  it("writes what the client reads", () => {
    expect(toClient({ type: MessageType.Invocation, target: "message", arguments: ["a", 1] })).toEqual([
      { type: ClientType.Invocation, target: "message", arguments: ["a", 1], headers: {}, streamIds: [] },
    ]);
    expect(toClient({ type: MessageType.Invocation, invocationId: "s1", target: "ask", arguments: [] })).toMatchObject([{ type: ClientType.Invocation, invocationId: "s1", target: "ask" }]);
    expect(toClient({ type: MessageType.StreamItem, invocationId: "1", item: [1, 2] })).toEqual([{ type: ClientType.StreamItem, invocationId: "1", item: [1, 2], headers: {} }]);
    expect(toClient({ type: MessageType.Completion, invocationId: "1", result: { ok: true } })).toMatchObject([{ type: ClientType.Completion, invocationId: "1", result: { ok: true }, error: undefined }]);
    expect(toClient({ type: MessageType.Completion, invocationId: "1", error: "bad" })).toMatchObject([{ type: ClientType.Completion, invocationId: "1", error: "bad", result: undefined }]);
    expect(toClient({ type: MessageType.Completion, invocationId: "1" })).toMatchObject([{ type: ClientType.Completion, invocationId: "1", error: undefined, result: undefined }]);
    expect(toClient({ type: MessageType.Ping })).toEqual([{ type: ClientType.Ping }]);
    expect(toClient({ type: MessageType.Close, error: "bye", allowReconnect: true })).toEqual([{ type: ClientType.Close, error: "bye", allowReconnect: true }]);
    expect(toClient({ type: MessageType.Close })).toEqual([{ type: ClientType.Close, error: null, allowReconnect: undefined }]);
    expect(toClient({ type: MessageType.Ack, sequenceId: 3 })).toEqual([{ type: ClientType.Ack, sequenceId: 3 }]);
    expect(toClient({ type: MessageType.Sequence, sequenceId: 4 })).toEqual([{ type: ClientType.Sequence, sequenceId: 4 }]);
  });

  it("maps values: safe integers as numbers, big ones exact as bigint, binary, timestamps", () => {
    const big = 9007199254740993n;
    const [m] = [decodeMessagePack(encode([1, {}, "1", "Echo", [big, 2n ** 40n, -5, new Uint8Array([1, 2]), new Date(0)]], { useBigInt64: true }))];
    expect(m).toEqual({ type: MessageType.Invocation, invocationId: "1", target: "Echo", arguments: [big, 2 ** 40, -5, new Uint8Array([1, 2]), new Date(0)] });
    // and the big one goes back out exactly
    const out = decodeMessagePack(encodeMessagePack({ type: MessageType.Completion, invocationId: "1", result: big }).subarray(1));
    expect(out).toEqual({ type: MessageType.Completion, invocationId: "1", result: big });
  });

  it("a value nested too deep fails only that invocation (binding error), not the envelope", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 600; i++) deep = [deep];
    const m = decodeMessagePack(encode([1, {}, "9", "Echo", [deep]], { maxDepth: 1000 }));
    expect(m).toMatchObject({ type: MessageType.Invocation, invocationId: "9", target: "Echo", bindingError: "The maximum depth of 500 was exceeded." });
  });

  it("refuses malformed envelopes with a specific error", () => {
    const bad = (v: unknown) => () => decodeMessagePack(encode(v));
    expect(bad({})).toThrow(InvalidDataError);
    expect(bad([])).toThrow("Message is not a MessagePack array.");
    expect(bad([1, {}, "1", 5, []])).toThrow("Reading 'target' as String failed.");
    expect(bad([1, {}, "1", "x"])).toThrow("Invalid payload for Invocation message.");
    expect(bad([4, {}, null, "x", []])).toThrow("Reading 'invocationId' as String failed.");
    expect(bad([3, {}, "1", 9, 1])).toThrow("Invalid invocation result kind.");
    expect(bad([1, { a: 1 }, "1", "x", []])).toThrow("Reading 'headers' as Map of String failed.");
    expect(bad([42])).toThrow("Unknown message type '42'.");
    expect(() => decodeMessagePack(new Uint8Array([0xc1]))).toThrow(InvalidDataError);
  });

  it("a value that cannot be serialized throws on write (the caller turns it into an error)", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => encodeMessagePack({ type: MessageType.Completion, invocationId: "1", result: circular })).toThrow();
  });
});

describe("framing readers: arbitrary chunks, linear, bounded", () => {
  it("varint frames cut in one-byte chunks come out whole, prefixes over several bytes included", () => {
    const payloads = [new Uint8Array(3).fill(1), new Uint8Array(200).fill(2), new Uint8Array(20_000).fill(3)];
    const bytes = Buffer.concat(payloads.map((p) => frame(p)));
    const r = new VarintFrameReader();
    const got: Uint8Array[] = [];
    for (const b of bytes) {
      r.push(Uint8Array.of(b));
      for (let f = r.next(); f; f = r.next()) got.push(f);
    }
    expect(got.map((g) => g.length)).toEqual([3, 200, 20_000]);
    expect(got[2]!.every((x) => x === 3)).toBe(true);
    expect(r.bufferedBytes).toBe(0);
  });

  it("a prefix longer than 5 bytes or over the limit is a framing error", () => {
    const r = new VarintFrameReader();
    r.push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
    expect(() => r.next()).toThrow(FramingError);
    const small = new VarintFrameReader(10);
    small.push(frame(new Uint8Array(11)));
    expect(() => small.next()).toThrow("The maximum message size of 10B was exceeded.");
  });

  it("records split anywhere, a multi-byte character across chunks included", () => {
    const text = Buffer.from('{"a":"é"}\u001e{"b":1}\u001e{"c"');
    const r = new RecordReader();
    const got: string[] = [];
    for (const b of text) {
      r.push(Uint8Array.of(b));
      for (let rec = r.next(); rec; rec = r.next()) got.push(Buffer.from(rec).toString("utf8"));
    }
    expect(got).toEqual(['{"a":"é"}', '{"b":1}']);
    expect(Buffer.from(r.drain()).toString()).toBe('{"c"');
  });

  it("a separator-free flood is scanned once: 1 MB in 1-byte chunks stays fast", () => {
    const r = new RecordReader();
    const one = Uint8Array.of(0x20);
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) {
      r.push(one);
      r.next();
    }
    // quadratic re-scanning would take seconds here; linear takes milliseconds
    expect(performance.now() - t0).toBeLessThan(2_000);
  });

  it("the protocol object frames and parses symmetrically", () => {
    const reader = messagePackProtocol.reader();
    reader.push(messagePackProtocol.write({ type: MessageType.Invocation, invocationId: "1", target: "t", arguments: [1] }));
    expect(messagePackProtocol.parse(reader.next()!)).toEqual({ type: MessageType.Invocation, invocationId: "1", target: "t", arguments: [1] });
  });
});
