// The real .NET SignalR client (test/dotnet/DotnetClient) against the kit: proves the driver
// works (invokes of several types, client methods, closes) so other tests can lean on it.
import { afterEach, expect, it } from "vitest";
import { Hub } from "../../src/testing/index.js";
import { DotnetClient } from "../dotnet/dotnet-client.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { startKit, type Kit } from "./kit.js";

class Echo extends Hub {
  echo(x: unknown) {
    return x;
  }
  async shout(text: string) {
    await this.clients.caller.send("heard", text.toUpperCase(), text.length);
  }
  fail() {
    throw new Error("boom");
  }
}

describeDotnet("DotnetClient against the kit", () => {
  let kit: Kit | undefined;
  let client: DotnetClient | undefined;
  afterEach(async () => {
    await client?.close();
    await kit?.close();
  });

  it("invokes, receives and closes, printing JSON lines", async () => {
    // No hello: the convention has tests of its own (dotnet-no-warning.test.ts).
    kit = await startKit({ hubs: { echo: Echo }, serverOptions: { hello: false } });
    client = await DotnetClient.launch({ url: kit.servers[0]!.url("echo") });
    await client.on("heard", 2);
    expect(await client.start()).toMatch(/.+/);
    const values = ["text", 42, 2.5, true, null, [1, "two"], { nested: { a: [1, 2] } }];
    for (const v of values) expect(await client.invoke("Echo", v)).toEqual(v);
    await client.send("Shout", "hi");
    await client.waitFor((l) => l.type === "invocation", 5_000, "heard");
    expect(client.invocations("heard")).toEqual([["HI", 2]]);
    await expect(client.invoke("Fail")).rejects.toThrow(/An unexpected error occurred invoking 'Fail' on the server/);
    await client.stop();
    await client.waitFor((l) => l.type === "closed");
    expect(client.warnings).toEqual([]);
  });
});
