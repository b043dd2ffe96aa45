// Keep-alive pings, the client timeout and the handshake timeout, with short intervals.
import { afterEach, expect, it } from "vitest";
import { Hub, serverAudience, signToken } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";
import { rawClient, rawSocket } from "./raw-client.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

let kit: Kit;
afterEach(async () => kit?.close());

it("pings an idle client, drops a silent one with an error, and drops a client that never shakes hands", async () => {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { keepAliveIntervalMs: 30, clientTimeoutMs: 300, handshakeTimeoutMs: 150 } });
  const silent = await rawClient(kit.servers[0]!, kit.service);
  silent.ws.send('{"protocol":"json","version":1}\u001e');
  await silent.waitFor("{}");
  expect(await silent.waitFor('"type":6')).toBe('{"type":6}\u001e');
  expect(await silent.waitFor('"type":7')).toContain("Server timeout");
  await silent.closed;

  const mute = await rawClient(kit.servers[0]!, kit.service);
  expect(await mute.waitFor('"type":7')).toContain("Handshake was canceled");

  // An idle real client whose own pings (every 50 ms) count as traffic outlives the 300 ms
  // timeout. Nothing to await here: "still alive later" needs a wait of twice the timeout.
  const c = kit.client("chat", { configure: (b) => b.withKeepAliveInterval(50) });
  await c.start();
  await new Promise((r) => setTimeout(r, 600));
  expect(c.state).toBe("Connected");
  expect(await c.invoke("Echo", 1)).toBe(1);
});

it("closes a server link that never sends its handshake", async () => {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { handshakeTimeoutMs: 100 } });
  const token = await signToken({ audience: serverAudience(kit.service.endpoint, "chat"), accessKey: kit.service.accessKey });
  const link = await rawSocket(`${kit.service.endpoint.replace("http", "ws")}/server/?hub=chat`, { Authorization: `Bearer ${token}` });
  expect(await link.closed).toBe(1008);
  const c = await kit.connect();
  expect(await c.invoke("Echo", 2)).toBe(2);
});
