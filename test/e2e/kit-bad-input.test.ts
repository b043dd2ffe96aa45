// Bad input gets a clear error for that caller alone; the service, the app server and
// every other connection carry on.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { WebSocket } from "ws";
import { Hub, signToken, clientAudience, serverAudience } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";
import { negotiateAtService, rawClient, rawSocket, redirect } from "./raw-client.js";
import type { HubConnection } from "@microsoft/signalr";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

let kit: Kit;
let healthy: HubConnection;
beforeEach(async () => {
  kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { maxMessageBytes: 32 * 1024 } });
  healthy = await kit.connect();
});
afterEach(async () => {
  // Whatever the test threw at the kit, the healthy client still echoes.
  expect(await healthy.invoke("Echo", "still fine")).toBe("still fine");
  await kit.close();
});

const post = (url: string, token?: string, body?: string) =>
  fetch(url, { method: "POST", ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}), ...(body !== undefined ? { body } : {}) });

describe("negotiate requests", () => {
  it("refuses missing, expired, wrong-key, wrong-audience and tampered tokens with a bare 401", async () => {
    const ep = kit.service.endpoint;
    const url = `${ep}/client/negotiate?hub=chat&negotiateVersion=1`;
    const good = await signToken({ audience: clientAudience(ep, "chat"), accessKey: kit.service.accessKey });
    const expired = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience(clientAudience(ep, "chat")).setExpirationTime(Math.floor(Date.now() / 1000) - 120).sign(new TextEncoder().encode(kit.service.accessKey));
    const wrongKey = await signToken({ audience: clientAudience(ep, "chat"), accessKey: "not-the-key" });
    const otherHub = await signToken({ audience: clientAudience(ep, "other"), accessKey: kit.service.accessKey });
    const [h, p, s] = good.split(".");
    const tampered = `${h}.${Buffer.from(JSON.stringify({ aud: clientAudience(ep, "chat"), nameid: "admin" })).toString("base64url")}.${s}`;
    for (const token of [undefined, expired, wrongKey, otherHub, tampered, "garbage", `${h}.${p}`]) {
      const res = await post(url, token);
      expect(res.status).toBe(401);
      expect(await res.text()).toBe("");
    }
    expect((await post(url, good)).status).toBe(200);
  });

  it("answers malformed requests with a specific error", async () => {
    const ep = kit.service.endpoint;
    const token = await signToken({ audience: clientAudience(ep, "chat"), accessKey: kit.service.accessKey });
    const noHub = await post(`${ep}/client/negotiate?negotiateVersion=1`, token);
    expect(noHub.status).toBe(400);
    expect(await noHub.json()).toEqual({ error: "The 'hub' query parameter is required." });
    const badVersion = await post(`${ep}/client/negotiate?hub=chat&negotiateVersion=abc`, token);
    expect(badVersion.status).toBe(400);
    expect(await badVersion.json()).toEqual({ error: "Invalid negotiateVersion 'abc'." });
    expect((await fetch(`${ep}/client/negotiate?hub=chat`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(405);
    expect((await post(`${ep}/nowhere`, token)).status).toBe(404);
    const huge = await post(`${ep}/client/negotiate?hub=chat`, token, "x".repeat(200_000));
    expect(huge.status).toBe(413);
    // The app server's negotiate: unknown hub, wrong method.
    const app = kit.servers[0]!.url("chat").replace(/\/chat$/, "");
    expect((await post(`${app}/nohub/negotiate`)).status).toBe(404);
    expect((await fetch(`${app}/chat/negotiate`)).status).toBe(405);
  });
});

describe("WebSocket connects", () => {
  it("refuses bad tokens (401), unknown ids (404), a second socket (409), unknown paths (404)", async () => {
    const ws = kit.service.endpoint.replace("http", "ws");
    const r = await redirect(kit.servers[0]!);
    const n = await negotiateAtService(kit.service, r.accessToken);
    const url = `${ws}/client/?hub=chat&id=${n.connectionToken}`;
    await expect(rawSocket(url)).rejects.toThrow("HTTP 401");
    await expect(rawSocket(url, { Authorization: "Bearer nope" })).rejects.toThrow("HTTP 401");
    await expect(rawSocket(`${ws}/client/?hub=chat&id=unknown`, { Authorization: `Bearer ${r.accessToken}` })).rejects.toThrow("HTTP 404");
    const first = await rawSocket(url, { Authorization: `Bearer ${r.accessToken}` });
    await expect(rawSocket(url, { Authorization: `Bearer ${r.accessToken}` })).rejects.toThrow("HTTP 409");
    await expect(rawSocket(`${ws}/elsewhere/?hub=chat`, { Authorization: `Bearer ${r.accessToken}` })).rejects.toThrow("HTTP 404");
    first.ws.close();
  });

  it("refuses a client token at the server endpoint, and a server token signed with another key", async () => {
    const ws = kit.service.endpoint.replace("http", "ws");
    const r = await redirect(kit.servers[0]!);
    await expect(rawSocket(`${ws}/server/?hub=chat`, { Authorization: `Bearer ${r.accessToken}` })).rejects.toThrow("HTTP 401");
    const wrongKey = await signToken({ audience: serverAudience(kit.service.endpoint, "chat"), accessKey: "wrong" });
    await expect(rawSocket(`${ws}/server/?hub=chat`, { Authorization: `Bearer ${wrongKey}` })).rejects.toThrow("HTTP 401");
  });
});

describe("frames", () => {
  it("a wrong handshake protocol gets a handshake error", async () => {
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"xml","version":1}\u001e');
    expect(await c.waitFor("error")).toBe('{"error":"The protocol \'xml\' is not supported."}\u001e');
    await c.closed;
  });

  it("a non-JSON handshake gets a handshake error", async () => {
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send("hello\u001e");
    expect(JSON.parse((await c.waitFor("error")).slice(0, -1))).toEqual({ error: "Handshake request is not valid JSON." });
  });

  it.each([
    ["non-JSON", "{nope\u001e", "Error reading JSON."],
    ["not an object", "[1,2]\u001e", "Message is not a JSON object."],
    ["unknown type", '{"type":42}\u001e', "Unknown message type '42'."],
    ["invocation without target", '{"type":1,"arguments":[]}\u001e', "Missing required property 'target'."],
    ["invocation without arguments", '{"type":1,"target":"Echo"}\u001e', "Missing required property 'arguments'."],
    ["completion without id", '{"type":3}\u001e', "Missing required property 'invocationId'."],
  ])("a %s frame closes that connection with its error", async (_name, frame, reason) => {
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"json","version":1}\u001e');
    await c.waitFor("{}");
    c.ws.send(frame);
    const close = JSON.parse((await c.waitFor('"type":7')).split("\u001e")[0]!);
    expect(close).toEqual({ type: 7, error: `Connection closed with an error. InvalidDataException: ${reason}` });
    await c.closed;
  });

  it("a message over the size limit closes the connection; one under it is served", async () => {
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"json","version":1}\u001e');
    await c.waitFor("{}");
    c.ws.send(JSON.stringify({ type: 1, invocationId: "1", target: "Echo", arguments: ["x".repeat(30_000)] }) + "\u001e");
    expect(await c.waitFor('"invocationId":"1"')).toContain('"type":3');
    c.ws.send(JSON.stringify({ type: 1, invocationId: "2", target: "Echo", arguments: ["x".repeat(40_000)] }) + "\u001e");
    expect(await c.waitFor('"type":7')).toContain("The maximum message size of 32768B was exceeded.");
  });

  it("a binary frame on the JSON protocol closes the connection", async () => {
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"json","version":1}\u001e');
    await c.waitFor("{}");
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await c.waitFor('"type":7')).toContain("Binary frames are not valid");
  });

  it("garbage on a server link closes that link only", async () => {
    const token = await signToken({ audience: serverAudience(kit.service.endpoint, "chat"), accessKey: kit.service.accessKey });
    const s = await rawSocket(`${kit.service.endpoint.replace("http", "ws")}/server/?hub=chat`, { Authorization: `Bearer ${token}` });
    s.ws.send(Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(await s.closed).toBe(1008);
    const t = await rawSocket(`${kit.service.endpoint.replace("http", "ws")}/server/?hub=chat`, { Authorization: `Bearer ${token}` });
    t.ws.send("text is not the service protocol");
    expect(await t.closed).toBe(1008);
  });
});

void WebSocket;
