// Which server data is a client's handshake answer (held-back messages follow it).
import { describe, expect, it } from "vitest";
import { DataMessageType } from "../../src/protocol/service-protocol";
import { handshakeAnswerLength, isHandshakeAnswer } from "../../src/service/handshake-answer";

const b = (s: string) => new TextEncoder().encode(s);

describe("handshake answer", () => {
  it("recognises {} and {error} records, alone or followed by messages", () => {
    expect(isHandshakeAnswer(b("{}\u001e"))).toBe(true);
    expect(isHandshakeAnswer(b('{"error":"nope"}\u001e'))).toBe(true);
    expect(handshakeAnswerLength(b('{}\u001e{"type":6}\u001e'))).toBe(3);
  });

  it("a hub message, a partial record, binary or a bare array is not", () => {
    for (const s of ['{"type":1,"target":"x","arguments":[]}\u001e', "{}", "[1]\u001e", "{bad\u001e", ""]) expect(isHandshakeAnswer(b(s)), s).toBe(false);
    expect(isHandshakeAnswer(Uint8Array.from([0x95, 0x01]))).toBe(false);
  });

  it("the SDK's DataMessageType wins when it says what the payload is", () => {
    expect(isHandshakeAnswer(b('{"type":1}\u001e'), { dataType: DataMessageType.Handshake })).toBe(true);
    expect(isHandshakeAnswer(b("{}\u001e"), { dataType: DataMessageType.Invocation })).toBe(false);
    expect(isHandshakeAnswer(b("{}\u001e"), { dataType: DataMessageType.Unknown })).toBe(true);
  });
});
