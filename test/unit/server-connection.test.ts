// ServerConnection alone, fed the bytes the real clients write (JSON and MessagePack) and
// read back with the real clients' protocols: the hub sees the same values either way,
// the hello goes only to marked connections, a dead connection runs nothing more.
import { describe, expect, it } from "vitest";
import { JsonHubProtocol, MessageType as T, NullLogger, type HubMessage as ClientMessage, type IHubProtocol } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { ServerConnection } from "../../src/server/server-connection.js";
import { helloWanted } from "../../src/server/hello-policy.js";
import { hubClients, groupManager, type HubTransport } from "../../src/server/hub-clients.js";
import { Hub } from "../../src/server/hub.js";

const seen: unknown[][] = [];
let gate: Promise<void> = Promise.resolve();

class Probe extends Hub {
  echo(x: unknown) {
    seen.push([x]);
    return x;
  }
  async wait(tag: string) {
    seen.push(["wait", tag]);
    await gate;
    return tag;
  }
  note(tag: string) {
    seen.push(["note", tag]);
  }
}

type Wire = "json" | "messagepack";

function harness(wire: Wire, opts: { hello?: boolean; migratedFrom?: string } = {}) {
  const client: IHubProtocol = wire === "json" ? new JsonHubProtocol() : new MessagePackHubProtocol();
  const out: Uint8Array[] = [];
  const closes: string[] = [];
  const transport: HubTransport = {
    send: async () => {},
    sendToConnection: async () => {},
    invokeClient: async () => undefined,
    joinGroup: async () => {},
    leaveGroup: async () => {},
  };
  const conn = new ServerConnection({
    id: "c1",
    hub: "probe",
    serverId: "server-a",
    userId: undefined,
    claims: {},
    migratedFrom: opts.migratedFrom,
    hubClass: Probe,
    transport,
    clients: hubClients(transport),
    groups: groupManager(transport),
    hello: opts.hello ?? false,
    limits: { maxParallelInvocations: 1, maxPendingInputBytes: 1 << 20, clientResultTimeoutMs: 1000 },
    deliver: async (p) => void out.push(p),
    closeWithError: (e) => void closes.push(e),
    log: () => {},
    onEnded: () => {},
  });
  const version = wire === "json" ? 1 : 2;
  const encode = (m: ClientMessage): Uint8Array => {
    const w = client.writeMessage(m);
    return typeof w === "string" ? Buffer.from(w) : new Uint8Array(w);
  };
  return {
    conn,
    out,
    closes,
    handshake: () => conn.receive(Buffer.from(`{"protocol":"${wire}","version":${version}}\u001e`)),
    send: (m: ClientMessage) => conn.receive(encode(m)),
    /** Everything the server wrote after the handshake answer, parsed by the real client. */
    replies: (): ClientMessage[] => {
      const all = Buffer.concat(out);
      const answer = all.indexOf(0x1e) + 1;
      const rest = all.subarray(answer);
      if (rest.length === 0) return [];
      return wire === "json"
        ? client.parseMessages(rest.toString("utf8"), NullLogger.instance)
        : client.parseMessages(rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.byteLength) as ArrayBuffer, NullLogger.instance);
    },
  };
}

const flush = () => new Promise((r) => setTimeout(r, 5));

describe.each(["json", "messagepack"] as const)("over %s", (wire) => {
  it("the handshake is answered and the hub sees the same values as with JSON", async () => {
    seen.length = 0;
    const h = harness(wire);
    h.handshake();
    const value = { n: 1, f: 1.5, s: "é", b: true, z: null, a: [1, [2, { x: "y" }]] };
    h.send({ type: T.Invocation, invocationId: "1", target: "Echo", arguments: [value], streamIds: [] } as ClientMessage);
    await flush();
    expect(Buffer.concat(h.out).subarray(0, 3).toString()).toBe("{}\u001e");
    expect(seen).toEqual([[value]]);
    expect(h.replies()).toMatchObject([{ type: T.Completion, invocationId: "1", result: value }]);
  });

  it("bytes split anywhere, handshake and messages in one chunk or byte by byte", async () => {
    seen.length = 0;
    const h = harness(wire);
    const hs = Buffer.from(`{"protocol":"${wire}","version":${wire === "json" ? 1 : 2}}\u001e`);
    const client = wire === "json" ? new JsonHubProtocol() : new MessagePackHubProtocol();
    const w = client.writeMessage({ type: T.Invocation, invocationId: "2", target: "echo", arguments: ["x"], streamIds: [] } as ClientMessage);
    const msg = typeof w === "string" ? Buffer.from(w) : Buffer.from(new Uint8Array(w));
    for (const b of Buffer.concat([hs, msg, msg])) h.conn.receive(Uint8Array.of(b));
    await flush();
    expect(seen).toEqual([["x"], ["x"]]);
  });

  it("hello only when wanted, after the answer; swallowed answer for a migrated-in connection", async () => {
    const greeted = harness(wire, { hello: true });
    greeted.handshake();
    await flush();
    expect(greeted.replies()).toMatchObject([{ type: T.Invocation, target: "graceful.hello", arguments: [{ serverId: "server-a" }] }]);
    const quiet = harness(wire, { hello: false });
    quiet.handshake();
    await flush();
    expect(quiet.replies()).toEqual([]);
    const moved = harness(wire, { hello: true, migratedFrom: "server-z" });
    moved.handshake();
    await flush();
    expect(moved.out).toHaveLength(1); // no answer: only the hello, naming where it came from
    expect(Buffer.from(moved.out[0]!).includes(Buffer.from("server-z"))).toBe(true);
  });

  it("after kill(), the queued call never runs and the running one's result is not written", async () => {
    seen.length = 0;
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const h = harness(wire);
    h.handshake();
    h.send({ type: T.Invocation, invocationId: "1", target: "Wait", arguments: ["first"], streamIds: [] } as ClientMessage);
    h.send({ type: T.Invocation, target: "Note", arguments: ["queued"], streamIds: [] } as ClientMessage);
    await flush();
    const written = h.out.length;
    h.conn.kill();
    open();
    await flush();
    expect(seen).toEqual([["wait", "first"]]);
    expect(h.out.length).toBe(written);
  });
});

describe("hello policy", () => {
  it("marked: only graceful=1; always; never; an unknown query greets as before", () => {
    expect(helloWanted("marked", "hub=chat&graceful=1")).toBe(true);
    expect(helloWanted("marked", "hub=chat&user=a")).toBe(false);
    expect(helloWanted("marked", "graceful=0")).toBe(false);
    expect(helloWanted("marked", undefined)).toBe(true);
    expect(helloWanted("always", "")).toBe(true);
    expect(helloWanted("never", "graceful=1")).toBe(false);
  });
});
