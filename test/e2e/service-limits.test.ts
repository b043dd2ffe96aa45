// The service's client-side limits: what one client can make the service hold or do is
// bounded, the offender alone gets a clear answer, and its neighbours carry on.
import type { HubConnection } from "@microsoft/signalr";
import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Hub } from "../../src/testing/index.js";
import { event, nextCall, startKit, type Kit } from "./kit.js";
import { rawClient, rawSocket, redirect } from "./raw-client.js";
import { MiniService } from "../../src/testing/index.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
  /** `n` broadcasts of `size` characters each, a short pause every ten (a pace a reader keeps up with). */
  async blast(n: number, size: number) {
    const text = "x".repeat(size);
    for (let i = 0; i < n; i++) {
      await this.clients.all.send("blast", i, text);
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
  }
}

let kit: Kit | undefined;
afterEach(async () => {
  await kit?.close();
  kit = undefined;
});

async function healthy(k: Kit): Promise<HubConnection> {
  const c = await k.connect();
  expect(await c.invoke("Echo", "fine")).toBe("fine");
  return c;
}

describe("frames", () => {
  it("a frame larger than maxFrameBytes is refused before it is buffered (close 1009); the neighbour is untouched", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const neighbour = await healthy(kit);
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"json","version":1}\u001e');
    await c.waitFor("{}");
    // 1 MB of valid pings in one frame: every record is small, the frame is not.
    c.ws.send('{"type":6}\u001e'.repeat(100_000));
    expect(await c.closed).toBe(1009);
    expect(await neighbour.invoke("Echo", "still fine")).toBe("still fine");
  });

  it("maxFrameBytes defaults to twice the message limit and may not be below it", async () => {
    await expect(MiniService.start({ maxMessageBytes: 1000, maxFrameBytes: 999 })).rejects.toThrow(RangeError);
    kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { maxMessageBytes: 1000 } });
    const c = await rawClient(kit.servers[0]!, kit.service);
    c.ws.send('{"protocol":"json","version":1}\u001e');
    await c.waitFor("{}");
    c.ws.send("x".repeat(2001));
    expect(await c.closed).toBe(1009);
  });
});

describe("send queue", () => {
  it("a client that does not read is dropped once its queue passes maxSendQueueBytes; the others get everything", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { maxSendQueueBytes: 512 * 1024 } });
    const reader = await healthy(kit);
    const deaf = await rawClient(kit.servers[0]!, kit.service);
    deaf.ws.send('{"protocol":"json","version":1}\u001e');
    await deaf.waitFor("{}");
    const deafId = kit.service.connections().find((c) => c.connectionId !== reader.connectionId)!.connectionId;
    // Stop reading: the kernel buffers fill, then the service's queue for this client grows.
    (deaf.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const dropped = event<{ connectionId: string }>(kit.service, "clientDisconnected", (e) => e.connectionId === deafId);
    const last = nextCall(reader, "blast", (i: number) => i === 399);
    const heapBefore = process.memoryUsage().heapUsed;
    await reader.invoke("Blast", 400, 30_000); // 12 MB of broadcasts
    await dropped;
    await last;
    expect(kit.service.connections().map((c) => c.connectionId)).toEqual([reader.connectionId]);
    // What was held for the deaf client is bounded by the limit, not by what was broadcast.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(40 * 1024 * 1024);
  });
});

describe("negotiations", () => {
  it("unused negotiations are bounded in number: beyond maxPendingNegotiations, 429 with an error; a used one frees a place", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { maxPendingNegotiations: 3 } });
    const r = await redirect(kit.servers[0]!);
    const negotiate = () => fetch(`${kit!.service.endpoint}/client/negotiate?hub=chat&negotiateVersion=1`, { method: "POST", headers: { Authorization: `Bearer ${r.accessToken}` } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await negotiate()).json()) as { connectionToken: string }).connectionToken);
    const refused = await negotiate();
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ error: "Too many negotiated connections not yet connected (limit 3); try again later." });
    // Connecting with one of them frees its place.
    const c = await healthy(kit).catch((e: Error) => e);
    expect(c).toBeInstanceOf(Error); // the real client negotiates too: refused while full
    const s = await rawSocket(`${kit.service.endpoint.replace("http", "ws")}/client/?hub=chat&id=${ids[0]}`, { Authorization: `Bearer ${r.accessToken}` });
    expect((await negotiate()).status).toBe(200);
    s.ws.close();
  });
});

describe("CORS", () => {
  const preflight = (k: Kit, origin: string) =>
    fetch(`${k.service.endpoint}/client/negotiate?hub=chat`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });

  it("credentials are granted to loopback origins only by default; any other origin gets no CORS headers", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    for (const origin of ["http://localhost:5173", "http://127.0.0.1:8080", "https://[::1]:3000"]) {
      const res = await preflight(kit, origin);
      expect(res.headers.get("access-control-allow-origin")).toBe(origin);
      expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    }
    for (const origin of ["http://evil.example", "http://localhost.evil.example", "null", "http://127.0.0.1.nip.io"]) {
      const res = await preflight(kit, origin);
      expect(res.status, origin).toBe(403);
      expect(await res.json()).toEqual({ error: `Origin '${origin}' is not allowed.` });
      expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
      expect(res.headers.get("access-control-allow-credentials"), origin).toBeNull();
    }
  });

  it("a Host that does not name this machine (DNS rebinding) is refused on negotiate and the HTTP transports", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const port = Number(new URL(kit.service.endpoint).port);
    for (const path of ["/client/negotiate?hub=chat&negotiateVersion=1", "/client/?hub=chat&id=x"]) {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST", headers: { Host: `rebind.evil.example:${port}`, Origin: `http://rebind.evil.example:${port}` } }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(status, path).toBe(403);
      expect(JSON.parse(body)).toEqual({ error: `Host 'rebind.evil.example:${port}' is not allowed.` });
    }
  });

  it("allowedOrigins replaces the default: a list, or a function", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { allowedOrigins: ["https://app.example"] } });
    expect((await preflight(kit, "https://app.example")).headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect((await preflight(kit, "http://localhost:5173")).headers.get("access-control-allow-origin")).toBeNull();
    await kit.close();
    kit = await startKit({ hubs: { chat: Chat }, serviceOptions: { allowedOrigins: (o) => o.endsWith(".example") } });
    expect((await preflight(kit, "https://b.example")).headers.get("access-control-allow-origin")).toBe("https://b.example");
  });
});
