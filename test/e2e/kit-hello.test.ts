// The hello convention goes only to connections the SDK marked with `graceful=1`: the query
// rides in the negotiate redirect and reaches the app server in OpenConnection.
import { afterEach, describe, expect, it } from "vitest";
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { HELLO_METHOD, Hub } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

let kit: Kit;
afterEach(async () => kit?.close());

/** Connects, does one round trip, and returns the hellos it heard (the hello comes before any answer). */
async function hellosOf(url: string): Promise<unknown[]> {
  const c = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();
  const heard: unknown[] = [];
  c.on(HELLO_METHOD, (h) => heard.push(h));
  await c.start();
  await c.invoke("Echo", 1);
  await c.stop();
  return heard;
}

describe("graceful.hello", () => {
  it("marked connections are greeted, plain ones never see it", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const url = kit.servers[0]!.url("chat");
    expect(await hellosOf(`${url}?graceful=1`)).toEqual([{ serverId: "server-a" }]);
    expect(await hellosOf(`${url}?user=bob&graceful=1`)).toEqual([{ serverId: "server-a" }]);
    expect(await hellosOf(url)).toEqual([]);
    expect(await hellosOf(`${url}?graceful=0`)).toEqual([]);
  });

  it("hello: \"always\" greets everyone, \"never\" no one", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { hello: "always" } });
    expect(await hellosOf(kit.servers[0]!.url("chat"))).toEqual([{ serverId: "server-a" }]);
    await kit.close();
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { hello: "never" } });
    expect(await hellosOf(`${kit.servers[0]!.url("chat")}?graceful=1`)).toEqual([]);
  });
});
