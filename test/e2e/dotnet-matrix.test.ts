// The .NET half of the transport matrix: the real .NET SignalR client over WebSockets / SSE /
// long polling × JSON / MessagePack (MessagePack only where the transport carries binary)
// against the kit: values, exact 64-bit integers, broadcasts, groups, streams both ways,
// client results; and stateful reconnect through a dropped socket.
import type { ChildProcess } from "node:child_process";
import type { HubConnection } from "@microsoft/signalr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub } from "../../src/testing/index.js";
import { DotnetClient, type DotnetTransport } from "../dotnet/dotnet-client.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { event, startKit, type Kit } from "./kit.js";
import { CELLS } from "./transports.js";

class Chat extends Hub {
  static override streamArguments = { uploadSum: [0] };
  static override streamingMethods = ["counter"];
  echo(x: unknown) {
    return x;
  }
  /** What the hub received, as text: a 64-bit integer's exactness cannot be judged after JSON.parse in this test. */
  exact(x: unknown) {
    return `${typeof x}:${String(x)}`;
  }
  async join(group: string) {
    await this.groups.add(this.context.connectionId, group);
  }
  async toGroup(group: string, text: string) {
    await this.clients.group(group).send("groupMessage", group, text);
  }
  async *counter(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }
  async uploadSum(numbers: AsyncIterable<number>) {
    let sum = 0;
    for await (const n of numbers) sum += Number(n);
    return sum;
  }
  async askCaller(question: string) {
    return await this.clients.caller.invoke("answer", question);
  }
}

/** A command line written by hand, for numbers JavaScript cannot hold (9007199254740993). */
async function rawInvoke(client: DotnetClient, id: number, line: string): Promise<unknown> {
  (client as unknown as { child: ChildProcess }).child.stdin!.write(line + "\n");
  const reply = await client.waitFor((l) => l.type === "reply" && l.id === id, 10_000, `reply #${id}`);
  return (reply as { result?: unknown }).result;
}

describeDotnet(".NET client over every transport × protocol", () => {
  describe.each(CELLS)("%s × %s", (transport, protocol) => {
    let kit: Kit;
    let client: DotnetClient;
    let peer: HubConnection;
    beforeAll(async () => {
      kit = await startKit({ hubs: { chat: Chat }, serverOptions: { hello: false } });
      client = await DotnetClient.launch({ url: kit.servers[0]!.url("chat"), transport: transport as DotnetTransport, protocol });
      await client.on("groupMessage", 2);
      await client.handle("answer", 1, { result: "forty-two" });
      await client.start();
      peer = await kit.connect();
    }, 60_000);
    afterAll(async () => {
      await client?.close();
      await kit?.close();
    });

    it("is served on that transport and protocol; echoes values of several types", async () => {
      const me = kit.service.connections().find((c) => c.connectionId !== peer.connectionId);
      expect(me).toMatchObject({ transport, protocol });
      for (const v of ["text ✓", 42, 2.5, true, null, [1, "two"], { nested: { a: [1, 2] } }, "x".repeat(10_000)]) expect(await client.invoke("Echo", v)).toEqual(v);
    });

    it("a 64-bit integer crosses the service untouched", async () => {
      const result = await rawInvoke(client, 100_001, '{"op":"invoke","id":100001,"method":"Exact","args":[9007199254740993]}');
      // The service relays bytes; a kit hub keeps the value exact where its protocol can (MessagePack int64 → bigint).
      expect(result).toBe(protocol === "messagepack" ? "bigint:9007199254740993" : "number:9007199254740992");
    });

    it("groups, streams both ways and client results", async () => {
      await client.invoke("Join", "room");
      await peer.invoke("ToGroup", "room", "hello .NET");
      await client.waitFor((l) => l.type === "invocation" && l.method.toLowerCase() === "groupmessage", 5_000, "the group message");
      expect(client.invocations("groupMessage")).toEqual([["room", "hello .NET"]]);
      expect(await client.stream("Counter", 4)).toEqual([0, 1, 2, 3]);
      expect(await client.upload("UploadSum", [1, 2, 3, 4])).toBe(10);
      expect(await client.invoke("AskCaller", "life?")).toBe("forty-two");
      expect(client.warnings).toEqual([]);
    });
  });

  it("stateful reconnect: the .NET client comes back to the same connection after a dropped socket", async () => {
    const kit = await startKit({ hubs: { chat: Chat }, serverOptions: { hello: false } });
    const client = await DotnetClient.launch({ url: kit.servers[0]!.url("chat"), stateful: true });
    try {
      const id = await client.start();
      expect(kit.service.connections()[0]).toMatchObject({ statefulReconnect: true });
      const resumed = event(kit.service, "clientResumed");
      expect(kit.service.dropClientTransport(kit.service.connections()[0]!.connectionId)).toBe(true);
      await resumed;
      expect(await client.invoke("Echo", "after the drop")).toBe("after the drop");
      expect(kit.service.connections().map((c) => c.connectionId)).toEqual([kit.service.connections()[0]!.connectionId]);
      expect(client.lines.filter((l) => l.type === "reconnecting" || l.type === "closed")).toEqual([]);
      expect(typeof id).toBe("string");
    } finally {
      await client.close();
      await kit.close();
    }
  }, 60_000);
});
