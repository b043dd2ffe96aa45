// MiniServer's /negotiate never pairs credentials with an arbitrary Origin, and refuses a
// Host that is not this machine (DNS rebinding).
import { afterEach, describe, expect, it } from "vitest";
import { request } from "node:http";
import { Hub } from "../../src/testing/index.js";
import { startKit, type Kit } from "./kit.js";

class Chat extends Hub {}

let kit: Kit;
afterEach(async () => kit?.close());

function negotiate(url: string, headers: Record<string, string>, method = "POST"): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("negotiate CORS and Host", () => {
  it("a foreign origin gets 403 and no CORS headers; a page on this machine gets them with credentials", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const url = kit.servers[0]!.url("chat") + "/negotiate?negotiateVersion=1&user=alice";
    const evil = await negotiate(url, { Origin: "http://evil.example" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toEqual({ error: "Origin 'http://evil.example' is not allowed." });
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    expect(evil.headers["access-control-allow-credentials"]).toBeUndefined();
    const preflight = await negotiate(url, { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" }, "OPTIONS");
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const local = await negotiate(url, { Origin: "http://localhost:5173" });
    expect(local.status).toBe(200);
    expect(local.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
    expect(local.headers["access-control-allow-credentials"]).toBe("true");
    expect((await negotiate(url, {})).status).toBe(200); // no Origin: not a browser page, nothing to grant
  });

  it("allowedOrigins replaces the default", async () => {
    kit = await startKit({ hubs: { chat: Chat }, serverOptions: { allowedOrigins: ["https://app.example"] } });
    const url = kit.servers[0]!.url("chat") + "/negotiate?negotiateVersion=1";
    const ok = await negotiate(url, { Origin: "https://app.example" });
    expect(ok.status).toBe(200);
    expect(ok.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect((await negotiate(url, { Origin: "http://localhost:5173" })).status).toBe(403);
  });

  it("a Host that is not this machine (DNS rebinding) is refused", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const url = kit.servers[0]!.url("chat") + "/negotiate?negotiateVersion=1&user=alice";
    const port = new URL(url).port;
    const rebound = await negotiate(url, { Host: `rebind.evil.example:${port}`, Origin: `http://rebind.evil.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toEqual({ error: `Host 'rebind.evil.example:${port}' is not allowed.` });
    expect((await negotiate(url, { Host: `localhost:${port}` })).status).toBe(200);
  });
});
