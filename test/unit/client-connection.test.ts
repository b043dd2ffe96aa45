// The service's ClientConnection against a controllable fake transport: handshakes in either
// frame type, framing that stays linear under 1-byte frames, the send-queue bound, and
// stateful reconnect's buffer, acks and sequence numbers — each as a whole ordered log.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeMessagePack, decodeMessagePack } from "../../src/protocol/messagepack-hub-protocol.js";
import { MessageType } from "../../src/protocol/json-hub-protocol.js";
import { unframe } from "../../src/protocol/varint-framing.js";
import { ClientConnection, type ClientConnectionLimits } from "../../src/service/client-connection.js";
import type { ClientTransport, TransportSink } from "../../src/service/client-transport.js";

class FakeTransport implements ClientTransport {
  readonly kind = "WebSockets" as const;
  readonly binary = true;
  bufferedBytes = 0;
  readonly out: { data: Uint8Array; binary: boolean }[] = [];
  readonly log: string[] = [];
  sink!: TransportSink;
  attach(sink: TransportSink): void {
    this.sink = sink;
  }
  send(data: Uint8Array, binary: boolean): void {
    this.out.push({ data: Buffer.from(data), binary });
  }
  pause(): void {
    this.log.push("pause");
  }
  resume(): void {
    this.log.push("resume");
  }
  close(): void {
    this.log.push("close");
  }
  terminate(): void {
    this.log.push("terminate");
  }
  /** Text of every JSON record sent, in order. */
  texts(): string[] {
    return this.out.flatMap((o) => Buffer.from(o.data).toString("utf8").split("\u001e").filter(Boolean));
  }
  /** Every MessagePack message sent after the handshake answer, decoded. */
  messages(): unknown[] {
    return this.out.filter((o) => o.data[0] !== 0x7b).flatMap((o) => unframe(o.data).map((b) => decodeMessagePack(b)));
  }
}

const LIMITS: ClientConnectionLimits = { maxMessageBytes: 32 * 1024, sendQueuePauseBytes: 64 * 1024, maxSendQueueBytes: 1024 * 1024, statefulReconnectBufferBytes: 100_000 };
const text = (s: string) => Buffer.from(s);
const json = (o: unknown) => text(JSON.stringify(o) + "\u001e");

function open(o: { stateful?: boolean; limits?: Partial<ClientConnectionLimits> } = {}) {
  const t = new FakeTransport();
  const log: string[] = [];
  const forwarded: string[] = [];
  const conn = new ClientConnection(
    { id: "c1", hub: "chat", userId: undefined, claims: {}, headers: {}, queryString: "", transport: t, limits: { ...LIMITS, ...o.limits }, statefulReconnect: o.stateful ?? false },
    {
      onHandshake: (_c, r) => log.push(`handshake ${r.protocol} v${r.version}`),
      onRecords: (_c, records) => {
        log.push(`records ${records.length}B`);
        forwarded.push(Buffer.from(records).toString("latin1"));
      },
      onClosed: () => log.push("closed"),
      onTransportChange: (_c, ch) => log.push("lost" in ch ? "transport lost" : `resumed, resent ${ch.resent}`),
    },
  );
  return { t, conn, log, forwarded };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("handshake", () => {
  it("MessagePack's handshake in a binary frame, with hub messages after it in the same frame", () => {
    const { t, conn, log, forwarded } = open();
    const invocation = encodeMessagePack({ type: MessageType.Invocation, invocationId: "1", target: "Echo", arguments: [1] });
    t.sink.onData(Buffer.concat([text('{"protocol":"messagepack","version":1}\u001e'), invocation]), true);
    expect(log).toEqual(["handshake messagepack v1", `records ${invocation.length}B`]);
    expect(forwarded).toEqual([Buffer.from(invocation).toString("latin1")]); // relayed byte for byte
    expect(conn.protocol?.name).toBe("messagepack");
  });

  it("refuses an unknown protocol, a version it does not speak, and MessagePack on a text-only transport", () => {
    for (const [hs, error] of [
      ['{"protocol":"xml","version":1}', "The protocol 'xml' is not supported."],
      ['{"protocol":"json","version":3}', "The server does not support version 3 of the 'json' protocol."],
    ]) {
      const { t, log } = open();
      t.sink.onData(text(hs + "\u001e"), false);
      expect(t.texts()).toEqual([JSON.stringify({ error })]);
      expect([...log, ...t.log]).toEqual(["closed", "close"]);
    }
    const { t } = open();
    (t as { binary: boolean }).binary = false;
    t.sink.onData(text('{"protocol":"messagepack","version":1}\u001e'), undefined);
    expect(t.texts()).toEqual([JSON.stringify({ error: "Cannot use the 'messagepack' protocol on the current transport. The transport does not support 'Binary' transfer format." })]);
  });
});

describe("framing limits", () => {
  it("a record dribbled in 1-byte frames costs linear time (no rescan of the partial record)", () => {
    vi.useRealTimers();
    const time = (size: number) => {
      const { t, forwarded } = open();
      t.sink.onData(text('{"protocol":"json","version":1}\u001e'), false);
      const record = json({ type: 1, target: "Echo", arguments: ["x".repeat(size)] });
      const start = performance.now();
      for (let i = 0; i < record.length; i++) t.sink.onData(record.subarray(i, i + 1), false);
      const ms = performance.now() - start;
      expect(forwarded.length).toBe(1);
      return ms;
    };
    time(2_000); // warm-up
    const small = Math.max(time(3_000), 0.5);
    const large = time(30_000);
    // 10× the bytes: linear is ~10× the time, a rescan on every byte ~100×.
    expect(large / small).toBeLessThan(35);
  });

  it("a record over the message limit closes the connection before it is complete", () => {
    const { t, log } = open({ limits: { maxMessageBytes: 1000 } });
    t.sink.onData(text('{"protocol":"json","version":1}\u001e'), false);
    t.sink.onData(text('{"type":1,"target":"Echo","arguments":["' + "x".repeat(1200)), false);
    expect(t.texts()).toEqual([JSON.stringify({ type: 7, error: "Connection closed with an error. InvalidDataException: The maximum message size of 1000B was exceeded." })]);
    expect(log).toEqual(["handshake json v1", "closed"]);
  });
});

describe("send queue", () => {
  it("pauses reading above the first bound, resumes below half of it, drops the client above the second with a Close saying why", () => {
    const { t, conn, log } = open({ limits: { sendQueuePauseBytes: 1000, maxSendQueueBytes: 5000 } });
    t.sink.onData(text('{"protocol":"json","version":1}\u001e'), false);
    conn.answerHandshake(text("{}\u001e"));
    t.bufferedBytes = 1500;
    conn.deliver(json({ type: 1, target: "m", arguments: [] }));
    t.bufferedBytes = 400;
    t.sink.onDrain();
    t.bufferedBytes = 6000;
    conn.deliver(json({ type: 1, target: "m", arguments: [] }));
    expect(t.log).toEqual(["pause", "resume", "close"]);
    expect(t.texts().at(-1)).toBe(JSON.stringify({ type: 7, error: "Connection closed with an error. The client did not read: more than 5000B were waiting to be sent to it." }));
    expect(log).toEqual(["handshake json v1", "closed"]);
  });
});

describe("stateful reconnect", () => {
  const inv = (i: number) => json({ type: 1, target: "m", arguments: [i] });

  function connected(limits: Partial<ClientConnectionLimits> = {}) {
    const o = open({ stateful: true, limits });
    o.t.sink.onData(text('{"protocol":"json","version":2}\u001e'), false);
    o.conn.answerHandshake(text("{}\u001e"));
    o.t.sink.onData(json({ type: 6 }), false); // the JS client pings once it counts messages
    return o;
  }

  it("holds sequenced messages until the client is counting them: its first message, or a second at most", () => {
    const { t, conn } = open({ stateful: true });
    t.sink.onData(text('{"protocol":"json","version":2}\u001e'), false);
    conn.answerHandshake(text("{}\u001e"));
    conn.deliver(Buffer.concat([inv(1), json({ type: 6 })]));
    expect(t.texts()).toEqual(["{}", '{"type":6}']); // the ping goes, the invocation waits
    t.sink.onData(json({ type: 6 }), false);
    expect(t.texts().at(-1)).toBe(JSON.stringify({ type: 1, target: "m", arguments: [1] }));
    const quiet = open({ stateful: true });
    quiet.t.sink.onData(text('{"protocol":"json","version":2}\u001e'), false);
    quiet.conn.answerHandshake(text("{}\u001e"));
    quiet.conn.deliver(inv(1));
    vi.advanceTimersByTime(999);
    expect(quiet.t.texts()).toEqual(["{}"]);
    vi.advanceTimersByTime(1);
    expect(quiet.t.texts()).toEqual(["{}", JSON.stringify({ type: 1, target: "m", arguments: [1] })]);
  });

  it("needs a version-2 handshake: version 1 runs without it", () => {
    const { t, conn } = open({ stateful: true });
    t.sink.onData(text('{"protocol":"json","version":1}\u001e'), false);
    expect(conn.buffer).toBeUndefined();
  });

  it("keeps the connection when the transport drops, buffers what the server sends, and replays after a Sequence", () => {
    const { t, conn, log } = connected();
    conn.deliver(Buffer.concat([inv(1), inv(2)]));
    t.sink.onEnd(true);
    conn.deliver(inv(3)); // while away
    conn.deliver(json({ type: 6 })); // a ping while away is not kept
    const t2 = new FakeTransport();
    conn.reattach(t2);
    expect(t2.texts()).toEqual(['{"type":9,"sequenceId":1}', ...[1, 2, 3].map((i) => JSON.stringify({ type: 1, target: "m", arguments: [i] }))]);
    // The client acks 2: a later reconnect resends from 3 only.
    t2.sink.onData(json({ type: 8, sequenceId: 2 }), false);
    t2.sink.onEnd(true);
    const t3 = new FakeTransport();
    conn.reattach(t3);
    expect(t3.texts()).toEqual(['{"type":9,"sequenceId":3}', JSON.stringify({ type: 1, target: "m", arguments: [3] })]);
    expect(log).toEqual(["handshake json v2", "transport lost", "resumed, resent 3", "transport lost", "resumed, resent 1"]);
  });

  it("drops the client's resent duplicates, ignores everything before its Sequence, and acks what it got about once a second", () => {
    const { t, conn, log, forwarded } = connected();
    t.sink.onData(Buffer.concat([inv(1), inv(2)]), false);
    vi.advanceTimersByTime(1000);
    expect(t.texts().at(-1)).toBe('{"type":8,"sequenceId":2}');
    t.sink.onEnd(true);
    const t2 = new FakeTransport();
    conn.reattach(t2);
    // Before its Sequence, anything is ignored; then it resends 2 (a duplicate) and sends 3.
    t2.sink.onData(Buffer.concat([inv(99), json({ type: 9, sequenceId: 2 }), inv(2), inv(3)]), false);
    expect(forwarded.map((f) => JSON.parse(f.split("\u001e")[0]!).arguments)).toEqual([[1], [3]]);
    expect(log).toEqual(["handshake json v2", "records 80B", "transport lost", "resumed, resent 0", "records 40B"]);
  });

  it("a Sequence beyond what was received is a protocol error", () => {
    const { t, conn } = connected();
    t.sink.onEnd(true);
    const t2 = new FakeTransport();
    conn.reattach(t2);
    t2.sink.onData(json({ type: 9, sequenceId: 5 }), false);
    expect(t2.texts().at(-1)).toBe(JSON.stringify({ type: 7, error: "Connection closed with an error. InvalidDataException: Sequence ID greater than amount of messages we've received." }));
  });

  it("holds messages back while the unacknowledged buffer is full, releases them on an Ack, drops a client that never acks", () => {
    const one = inv(0).length;
    const { t, conn, log } = connected({ statefulReconnectBufferBytes: 2 * one, maxSendQueueBytes: 4 * one, sendQueuePauseBytes: 4 * one });
    for (let i = 1; i <= 4; i++) conn.deliver(inv(i));
    expect(t.texts().length).toBe(1 + 2); // the answer and two messages; two wait
    t.sink.onData(json({ type: 8, sequenceId: 2 }), false);
    expect(t.texts().slice(3)).toEqual([3, 4].map((i) => JSON.stringify({ type: 1, target: "m", arguments: [i] })));
    for (let i = 5; i <= 11; i++) conn.deliver(inv(i));
    expect(log.at(-1)).toBe("closed");
    expect(t.texts().at(-1)).toContain("The client did not read");
  });

  it("MessagePack: records are cut by their length prefix and numbered the same way", () => {
    const o = open({ stateful: true });
    o.t.sink.onData(text('{"protocol":"messagepack","version":2}\u001e'), true);
    o.conn.answerHandshake(text("{}\u001e"));
    o.t.sink.onData(encodeMessagePack({ type: MessageType.Ping }), true);
    const m = (i: number) => encodeMessagePack({ type: MessageType.Invocation, target: "m", arguments: [i] });
    o.conn.deliver(Buffer.concat([m(1), encodeMessagePack({ type: MessageType.Ping }), m(2)]));
    o.t.sink.onEnd(true);
    const t2 = new FakeTransport();
    o.conn.reattach(t2);
    expect(t2.messages()).toEqual([{ type: 9, sequenceId: 1 }, { type: 1, target: "m", arguments: [1] }, { type: 1, target: "m", arguments: [2] }]);
  });
});
