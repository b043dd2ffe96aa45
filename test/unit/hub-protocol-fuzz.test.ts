// Property tests of the app server's reading side: whatever bytes or values arrive, the hub
// protocols either produce a message or throw InvalidDataError (never a TypeError or a
// RangeError from deep inside), and a connection fed garbage asks for a close or answers
// with Completions — it never throws out of receive().
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { InvalidDataError, MessageType, parseMessage } from "../../src/protocol/json-hub-protocol.js";
import { decodeMessagePack } from "../../src/protocol/messagepack-hub-protocol.js";
import { FramingError, RecordReader, VarintFrameReader } from "../../src/protocol/frame-reader.js";
import { ServerConnection } from "../../src/server/server-connection.js";
import { groupManager, hubClients, type HubTransport } from "../../src/server/hub-clients.js";
import { Hub } from "../../src/server/hub.js";

const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const params = { seed, numRuns: 300 };

/** Message-shaped arrays: a known type first, then anything. */
const shaped = fc.tuple(fc.integer({ min: 0, max: 10 }), fc.array(fc.anything({ withBigInt: true, withDate: true, withTypedArray: true }), { maxLength: 7 })).map(([t, rest]) => [t, ...rest]);

const onlyInvalidData = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof InvalidDataError)) throw e;
  }
};

describe(`hub protocols under random input (FUZZ_SEED=${seed})`, () => {
  it("MessagePack: any value, any message-shaped array, any bytes → a message or InvalidDataError", () => {
    fc.assert(
      fc.property(fc.oneof(shaped, fc.anything({ withBigInt: true })), (v) => {
        let bytes: Uint8Array;
        try {
          bytes = encode(v, { useBigInt64: true });
        } catch {
          return; // not encodable: nothing to send
        }
        onlyInvalidData(() => decodeMessagePack(bytes));
      }),
      params,
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => onlyInvalidData(() => decodeMessagePack(b))), params);
  });

  it("JSON: any JSON value and any text → a message or InvalidDataError", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string(), shaped.map((a) => JSON.stringify({ type: a[0], invocationId: a[1], target: a[2], arguments: a[3], streamIds: a[4], item: a[5], result: a[6], error: a[7] }, (_k, x) => (typeof x === "bigint" ? String(x) : x)))), (text) =>
        onlyInvalidData(() => parseMessage(text, 64)),
      ),
      params,
    );
  });

  it("framing readers: any chunking of any bytes → whole frames or FramingError, and the same frames however chunked", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }), (bytes, cuts) => {
        for (const make of [() => new RecordReader(), () => new VarintFrameReader(1000)]) {
          const read = (chunks: Uint8Array[]) => {
            const r = make();
            const out: string[] = [];
            try {
              for (const c of chunks) {
                r.push(c);
                for (let f = r.next(); f; f = r.next()) out.push(Buffer.from(f).toString("hex"));
              }
            } catch (e) {
              if (!(e instanceof FramingError)) throw e;
              out.push("framing error");
            }
            return out;
          };
          const whole = read([bytes]);
          const chunks: Uint8Array[] = [];
          let pos = 0;
          for (let i = 0; pos < bytes.length; i++) {
            const n = cuts[i % cuts.length]!;
            chunks.push(bytes.subarray(pos, pos + n));
            pos += n;
          }
          expect(read(chunks)).toEqual(whole);
        }
      }),
      params,
    );
  });
});

class Echo extends Hub {
  echo(x: unknown) {
    return x;
  }
}

describe(`a connection fed garbage (FUZZ_SEED=${seed})`, () => {
  it("never throws out of receive(); it answers with Completions or asks the service to close it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("json", "messagepack"), fc.array(fc.oneof(fc.uint8Array({ maxLength: 40 }), shaped.map((a) => encodeFramed(a))), { maxLength: 8 }), async (wire, chunks) => {
        const out: Uint8Array[] = [];
        const closes: string[] = [];
        const t: HubTransport = { send: async () => {}, sendToConnection: async () => {}, invokeClient: async () => null, joinGroup: async () => {}, leaveGroup: async () => {} };
        const conn = new ServerConnection({
          id: "c",
          hub: "h",
          serverId: "s",
          userId: undefined,
          claims: {},
          migratedFrom: undefined,
          hubClass: Echo,
          transport: t,
          clients: hubClients(t),
          groups: groupManager(t),
          hello: false,
          limits: { maxParallelInvocations: 1, maxPendingInputBytes: 1 << 20, clientResultTimeoutMs: 100 },
          deliver: async (p) => void out.push(p),
          closeWithError: (e) => void closes.push(e),
          onClientResult: () => {},
          log: () => {},
          onEnded: () => {},
        });
        conn.receive(Buffer.from(`{"protocol":"${wire}","version":1}\u001e`));
        for (const c of chunks) conn.receive(c);
        await new Promise((r) => setTimeout(r, 0));
        conn.kill();
        expect(Buffer.concat(out).subarray(0, 3).toString()).toBe("{}\u001e");
        for (const e of closes) expect(e).toMatch(/^Connection closed with an error\. InvalidDataException: /);
      }),
      { seed, numRuns: 150 },
    );
  });
});

function encodeFramed(v: unknown[]): Uint8Array {
  try {
    const body = encode(v, { useBigInt64: true });
    const prefix: number[] = [];
    let n = body.length;
    do {
      prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return Buffer.concat([Buffer.from(prefix), body]);
  } catch {
    return new Uint8Array([MessageType.Ping]);
  }
}
