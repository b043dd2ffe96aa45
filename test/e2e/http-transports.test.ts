// Server-Sent Events and long polling at the wire, as ASP.NET Core's HttpConnectionDispatcher
// answers them: the first poll returns at once, later polls wait for data or the poll timeout,
// 204 once the connection is over, DELETE ends it; SSE opens with a comment and sends `data:`
// lines; POSTs are refused for unknown connections and while another is in flight.
import { afterEach, expect, it } from "vitest";
import { Hub } from "../../src/testing/index.js";
import { event, startKit, type Kit } from "./kit.js";
import { negotiateAtService, redirect } from "./raw-client.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

async function open(serviceOptions = {}) {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions });
  const r = await redirect(kit.servers[0]!);
  const n = await negotiateAtService(kit.service, r.accessToken);
  const url = `${kit.service.endpoint}/client/?hub=chat&id=${n.connectionToken}`;
  const headers = { Authorization: `Bearer ${r.accessToken}` };
  return { url, headers, n };
}

it("long polling: first poll at once, data on the next, empty 200 after the poll timeout, DELETE → 202, then 204 and 404", async () => {
  const { url, headers, n } = await open({ longPollTimeoutMs: 300 });
  const first = await fetch(url, { headers });
  expect([first.status, await first.text()]).toEqual([200, ""]);
  const handshake = await fetch(url, { method: "POST", headers, body: '{"protocol":"json","version":1}\u001e' });
  expect(handshake.status).toBe(200);
  const answer = await fetch(url, { headers });
  expect([answer.status, await answer.text()]).toEqual([200, "{}\u001e"]);
  // Many records sent between two polls come back together, in order.
  await fetch(url, { method: "POST", headers, body: '{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}\u001e{"type":1,"invocationId":"2","target":"Echo","arguments":[2]}\u001e' });
  let got = "";
  while (!got.includes('"invocationId":"2"')) got += await (await fetch(url, { headers })).text();
  expect(got.split("\u001e").filter(Boolean).map((r) => JSON.parse(r).result)).toEqual([1, 2]);
  const t0 = Date.now();
  const idle = await fetch(url, { headers });
  expect([idle.status, await idle.text()]).toEqual([200, ""]);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  const pending = fetch(url, { headers });
  const gone = event<{ connectionId: string }>(kit!.service, "clientDisconnected");
  expect((await fetch(url, { method: "DELETE", headers })).status).toBe(202);
  expect((await pending).status).toBe(204);
  expect((await gone).connectionId).toBe(n.connectionId);
  expect((await fetch(url, { method: "POST", headers, body: "x" })).status).toBe(404);
});

it("long polling: a client that stops polling is gone after clientTimeoutMs", async () => {
  const { url, headers, n } = await open({ clientTimeoutMs: 300 });
  await fetch(url, { headers });
  await fetch(url, { method: "POST", headers, body: '{"protocol":"json","version":1}\u001e' });
  const gone = await event<{ connectionId: string }>(kit!.service, "clientDisconnected");
  expect(gone.connectionId).toBe(n.connectionId);
});

it("server-sent events: a comment at once, then `data:` lines; a second stream is 409; DELETE is for long polling only", async () => {
  const { url, headers } = await open();
  const ctrl = new AbortController();
  const res = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" }, signal: ctrl.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("text/event-stream");
  const reader = res.body!.getReader();
  let text = "";
  const readUntil = async (needle: string) => {
    while (!text.includes(needle)) text += new TextDecoder().decode((await reader.read()).value);
  };
  await readUntil(":\r\n");
  expect((await fetch(url, { headers: { ...headers, Accept: "text/event-stream" } })).status).toBe(409);
  expect((await fetch(url, { method: "POST", headers, body: '{"protocol":"json","version":1}\u001e' })).status).toBe(200);
  await readUntil("data: {}\u001e\r\n\r\n");
  await fetch(url, { method: "POST", headers, body: '{"type":1,"invocationId":"1","target":"Echo","arguments":["a\\nb"]}\u001e' });
  await readUntil('"invocationId":"1"');
  expect(text).toContain('data: {"type":3,"invocationId":"1","result":"a\\nb"}\u001e\r\n\r\n');
  expect((await fetch(url, { method: "DELETE", headers })).status).toBe(400);
  ctrl.abort();
});

it("POSTs: 400 without an id, 404 for an unknown one, 401 without a token", async () => {
  const { url, headers } = await open();
  const base = url.replace(/&id=.*/, "");
  expect((await fetch(base, { method: "POST", headers, body: "x" })).status).toBe(400);
  expect((await fetch(`${base}&id=nope`, { method: "POST", headers, body: "x" })).status).toBe(404);
  expect((await fetch(url, { method: "POST", body: "x" })).status).toBe(401);
});
