// The real @microsoft/signalr client over every transport × hub protocol the service offers
// (MessagePack only where the transport carries binary): values, broadcasts, groups, streams
// both ways and client results arrive as they were sent, and the service says what it serves.
import { HttpTransportType, HubConnectionBuilder, LogLevel, Subject, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub } from "../../src/testing/index.js";
import { nextCall, startKit, type Kit } from "./kit.js";
import { CELLS, connectionFor } from "./transports.js";

class Chat extends Hub {
  static override streamArguments = { uploadSum: [0] };
  static override streamingMethods = ["counter"];
  echo(x: unknown) {
    return x;
  }
  async join(group: string) {
    await this.groups.add(this.context.connectionId, group);
  }
  async toGroup(group: string, text: string) {
    await this.clients.group(group).send("groupMessage", group, text);
  }
  async shout(text: string) {
    await this.clients.all.send("shout", text);
  }
  async *counter(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }
  async uploadSum(numbers: AsyncIterable<number>) {
    let sum = 0;
    for await (const n of numbers) sum += n;
    return sum;
  }
  async askCaller(question: string) {
    return await this.clients.caller.invoke("answer", question);
  }
}

const VALUES: unknown[] = ["hello ✓ ünïcode \n line", 42, -3.5, 0, true, false, null, [1, "two", { three: 3 }], { nested: { deep: [1, 2, { x: "y" }] } }, "x".repeat(20_000)];

describe.each(CELLS)("%s × %s", (transport, protocol) => {
  let kit: Kit;
  const clients: HubConnection[] = [];
  const connect = async () => {
    const c = connectionFor(kit.servers[0]!.url("chat"), transport, protocol);
    clients.push(c);
    await c.start();
    return c;
  };
  beforeAll(async () => {
    kit = await startKit({ hubs: { chat: Chat } });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop().catch(() => {})));
    await kit.close();
  });

  it("connects on that transport and protocol, as the service reports", async () => {
    const c = await connect();
    expect(kit.service.connections().find((s) => s.connectionId === c.connectionId)).toMatchObject({ transport, protocol, statefulReconnect: false });
  });

  it("echoes values of several types exactly", async () => {
    const c = await connect();
    const values = protocol === "messagepack" ? [...VALUES, new Uint8Array([0, 1, 2, 255]), Number.MAX_SAFE_INTEGER, -(2 ** 40)] : VALUES;
    for (const v of values) expect(await c.invoke("Echo", v)).toEqual(v);
    // Many in flight at once: each answer matches its call.
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => c.invoke("Echo", { i })));
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
  });

  it("broadcasts reach every client; a group only its members", async () => {
    const [a, b, outsider] = [await connect(), await connect(), await connect()];
    const heard = [nextCall(a, "shout"), nextCall(b, "shout"), nextCall(outsider, "shout")];
    await a.invoke("Shout", "to all");
    expect((await Promise.all(heard)).map((args) => args[0])).toEqual(["to all", "to all", "to all"]);
    await a.invoke("Join", "room");
    await b.invoke("Join", "room");
    let outsiderHeard = false;
    outsider.on("groupMessage", () => (outsiderHeard = true));
    const inRoom = [nextCall(a, "groupMessage"), nextCall(b, "groupMessage")];
    await outsider.invoke("ToGroup", "room", "members only");
    expect((await Promise.all(inRoom)).map((args) => args[1])).toEqual(["members only", "members only"]);
    // A broadcast after the group message reaches the outsider: had the group message been sent to it, it came first.
    const after = nextCall(outsider, "shout");
    await a.invoke("Shout", "marker");
    await after;
    expect(outsiderHeard).toBe(false);
  });

  it("streams server→client and client→server", async () => {
    const c = await connect();
    const items: number[] = [];
    await new Promise<void>((resolve, reject) => c.stream<number>("Counter", 5).subscribe({ next: (i) => items.push(i), complete: resolve, error: reject }));
    expect(items).toEqual([0, 1, 2, 3, 4]);
    const numbers = new Subject<number>();
    const sum = c.invoke("UploadSum", numbers);
    for (let i = 1; i <= 20; i++) numbers.next(i);
    numbers.complete();
    expect(await sum).toBe(210);
  });

  it("a hub awaits a client result", async () => {
    const c = await connect();
    c.on("answer", (q: string) => `answer to ${q}`);
    expect(await c.invoke("AskCaller", "life")).toBe("answer to life");
  });
});

describe("transport fallback", () => {
  it("a client that may not use WebSockets falls back to Server-Sent Events, then to long polling", async () => {
    const kit = await startKit({ hubs: { chat: Chat } });
    try {
      const url = kit.servers[0]!.url("chat");
      const sse = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling }).configureLogging(LogLevel.None).build();
      const lp = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.LongPolling }).withHubProtocol(new MessagePackHubProtocol()).configureLogging(LogLevel.None).build();
      // MessagePack cannot ride SSE (text only): with WebSockets skipped, the client picks long polling.
      const binaryNoWs = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling }).withHubProtocol(new MessagePackHubProtocol()).configureLogging(LogLevel.None).build();
      for (const c of [sse, lp, binaryNoWs]) await c.start();
      const kinds = (c: HubConnection) => kit.service.connections().find((s) => s.connectionId === c.connectionId)?.transport;
      expect([kinds(sse), kinds(lp), kinds(binaryNoWs)]).toEqual(["ServerSentEvents", "LongPolling", "LongPolling"]);
      for (const c of [sse, lp, binaryNoWs]) expect(await c.invoke("Echo", "ok")).toBe("ok");
      await Promise.all([sse, lp, binaryNoWs].map((c) => c.stop()));
    } finally {
      await kit.close();
    }
  });
});
