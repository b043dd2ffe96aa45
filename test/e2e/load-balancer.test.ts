// MiniLoadBalancer's routing rules, seen through plain HTTP and WebSocket servers standing in for
// self-hosted SignalR (each answers /negotiate with its own connection token, like ASP.NET Core).
// The same rules are exercised with real ASP.NET Core servers in load-balancer-aspnet.test.ts.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { MiniLoadBalancer } from "../../src/testing/index.js";

interface FakeBackend {
  name: string;
  port: number;
  isRunning: boolean;
  http: Server;
  sockets: Set<WebSocket>;
}

let backends: FakeBackend[] = [];
let lb: MiniLoadBalancer | undefined;
afterEach(async () => {
  await lb?.stop();
  for (const b of backends) b.http.closeAllConnections();
  await Promise.all(backends.map((b) => new Promise((r) => b.http.close(r))));
  backends = [];
});

/** An HTTP + WebSocket server: /negotiate mints a token naming itself; anything else answers its name; /stream streams. */
async function backend(name: string): Promise<FakeBackend> {
  let n = 0;
  const http = createServer((req, res) => {
    if (req.url!.includes("/negotiate")) {
      const token = `${name}-t${++n}`;
      return res.end(JSON.stringify({ negotiateVersion: 1, connectionId: `${name}-c${n}`, connectionToken: token, availableTransports: [] }));
    }
    if (req.url!.includes("stream")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      return res.write(`data: ${name}\r\n\r\n`); // and never ends: a long-lived SSE response
    }
    res.end(name);
  });
  const b: FakeBackend = { name, port: 0, isRunning: true, http, sockets: new Set() };
  new WebSocketServer({ server: http }).on("connection", (ws) => {
    b.sockets.add(ws);
    ws.on("close", () => b.sockets.delete(ws));
    ws.on("message", (data, binary) => ws.send(binary ? data : `${name}:${data.toString()}`, { binary }));
  });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  b.port = (http.address() as AddressInfo).port;
  backends.push(b);
  return b;
}

async function start(names: string[]) {
  for (const n of names) await backend(n);
  lb = await MiniLoadBalancer.start({ servers: () => backends });
  return lb;
}

const negotiate = async () => (await (await fetch(`${lb!.url("hub")}/negotiate?negotiateVersion=1`, { method: "POST" })).json()) as { connectionId: string; connectionToken: string };
const get = async (path: string) => {
  const r = await fetch(`http://127.0.0.1:${lb!.port}${path}`);
  return { status: r.status, text: await r.text() };
};
const openSocket = (token: string) =>
  new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${lb!.port}/hub?id=${token}`);
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
const reply = (ws: WebSocket, text: string) =>
  new Promise<string>((resolve) => {
    ws.once("message", (d) => resolve(d.toString()));
    ws.send(text);
  });

it("new requests go round robin; a connection's requests go to the server that negotiated it", async () => {
  await start(["a", "b"]);
  const first = await negotiate();
  const second = await negotiate();
  expect([first.connectionToken, second.connectionToken]).toEqual(["a-t1", "b-t1"]);
  for (let i = 0; i < 4; i++) {
    expect((await get(`/hub?id=${first.connectionToken}`)).text).toBe("a");
    expect((await get(`/hub?id=${second.connectionToken}`)).text).toBe("b");
  }
  expect([(await get("/other")).text, (await get("/other")).text].sort()).toEqual(["a", "b"]);
});

it("tunnels WebSocket upgrades, text and binary, to the connection's server", async () => {
  await start(["a", "b"]);
  await negotiate();
  const { connectionToken } = await negotiate(); // on b
  const ws = await openSocket(connectionToken);
  expect(await reply(ws, "hi")).toBe("b:hi");
  const bin = new Promise<Buffer>((resolve) => ws.once("message", (d) => resolve(d as Buffer)));
  ws.send(Buffer.from([0, 1, 2, 255]), { binary: true });
  expect([...(await bin)]).toEqual([0, 1, 2, 255]);
  ws.close();
});

it("streams a long-lived response as it is written (SSE), without waiting for its end", async () => {
  await start(["a"]);
  const { connectionToken } = await negotiate();
  const first = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: lb!.port, path: `/hub/stream?id=${connectionToken}` }, (res) => {
      res.once("data", (d: Buffer) => {
        resolve(d.toString());
        req.destroy();
      });
    });
    req.on("error", reject);
    req.end();
  });
  expect(first).toBe("data: a\r\n\r\n");
});

it("a draining server gets no new connections but keeps serving its own", async () => {
  const [a] = [await backend("a"), await backend("b")];
  lb = await MiniLoadBalancer.start({ servers: () => backends });
  const onA = await negotiate();
  a!.isRunning = false;
  for (let i = 0; i < 3; i++) expect((await negotiate()).connectionToken.startsWith("b-")).toBe(true);
  expect((await get(`/hub?id=${onA.connectionToken}`)).text).toBe("a");
  const ws = await openSocket(onA.connectionToken);
  expect(await reply(ws, "still")).toBe("a:still");
  ws.close();
});

it("answers 404 for a connection whose server is gone, 503 when no server runs", async () => {
  await start(["a"]);
  const { connectionToken } = await negotiate();
  backends[0]!.http.closeAllConnections();
  await new Promise((r) => backends[0]!.http.close(r));
  expect((await get(`/hub?id=${connectionToken}`)).status).toBe(404);
  backends[0]!.isRunning = false;
  expect((await get("/hub/negotiate")).status).toBe(503);
});

it("cutConnections resets one connection's sockets and leaves the others", async () => {
  await start(["a"]);
  const one = await negotiate();
  const two = await negotiate();
  const [ws1, ws2] = [await openSocket(one.connectionToken), await openSocket(two.connectionToken)];
  expect(lb!.openConnections()).toBe(2);
  const closed = new Promise<number>((resolve) => ws1.once("close", (code) => resolve(code)));
  expect(lb!.cutConnections(one.connectionId)).toBe(1);
  expect(await closed).toBe(1006); // abnormal: no close frame, as a network failure
  expect(await reply(ws2, "alive?")).toBe("a:alive?");
  expect(lb!.openConnections(two.connectionId)).toBe(1);
  // The route stays: the client may reconnect to the same server (stateful reconnect).
  const again = await openSocket(one.connectionToken);
  expect(await reply(again, "back")).toBe("a:back");
  again.close();
  ws2.close();
});
