// The demo's page server without a browser: the control API the page's buttons use, and its
// lock to this machine (DNS rebinding through a foreign Host, credentialed foreign Origins).
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemo, type Demo } from "../../demo/demo-app.js";

let demo: Demo;
beforeAll(async () => {
  demo = await startDemo({ port: 0, shutdownTimeoutMs: 1_000, servers: 2 });
});
afterAll(async () => {
  await demo?.stop();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(new URL(path, demo.url), { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw HTTP request: fetch() won't send a Host header of our choosing. */
function raw(method: string, path: string, headers: Record<string, string>, body = ""): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: demo.port, method, path, headers: { ...headers, "Content-Length": String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("demo control API", () => {
  it("validates input: unknown server 404, bad mode 400, cross-origin 403, non-JSON 415, unknown route 404", async () => {
    const unknown = await post("/api/servers/nope/shutdown", { mode: "MigrateClients" });
    expect([unknown.status, await unknown.json()]).toEqual([404, { error: "No server 'nope'." }]);
    const badMode = await post("/api/servers/server-a/shutdown", { mode: "Off" });
    expect(badMode.status).toBe(400);
    expect((await badMode.json()).error).toMatch(/WaitForClientsClose, MigrateClients/);
    expect((await post("/api/servers/server-a/shutdown", "not an object")).status).toBe(400);
    expect((await post("/api/servers", {}, { Origin: "http://evil.example" })).status).toBe(403);
    expect((await fetch(new URL("/api/servers/server-a/kill", demo.url), { method: "POST", body: "{}" })).status).toBe(415);
    expect((await fetch(new URL("/api/nothing", demo.url))).status).toBe(404);
    expect(demo.fleet.list().map((s) => s.state)).toEqual(["running", "running"]);
  });

  it("refuses a foreign Host (DNS rebinding) on every route, and answers to 127.0.0.1 and localhost", async () => {
    const evil = `rebind.evil.example:${demo.port}`;
    // The attack as a rebinding page makes it: Host and Origin both the foreign name.
    const kill = await raw("POST", "/api/servers/server-b/kill", { Host: evil, Origin: `http://${evil}`, "Content-Type": "application/json" }, "{}");
    expect([kill.status, JSON.parse(kill.body)]).toEqual([403, { error: `Host '${evil}' is refused: open the demo at http://127.0.0.1:${demo.port}/.` }]);
    for (const path of ["/api/servers", "/api/events", "/", "/app.js"]) expect((await raw("GET", path, { Host: evil })).status, path).toBe(403);
    expect((await raw("POST", "/chat/negotiate?negotiateVersion=1", { Host: evil, Origin: `http://${evil}` })).status).toBe(403);
    // The same port under another local-looking name is refused too; only the two names pass.
    expect((await raw("GET", "/api/servers", { Host: `0.0.0.0:${demo.port}` })).status).toBe(403);
    expect((await raw("GET", "/api/servers", { Host: "127.0.0.1:1" })).status).toBe(403);
    expect((await raw("GET", "/api/servers", { Host: `127.0.0.1:${demo.port}` })).status).toBe(200);
    expect((await raw("GET", "/api/servers", { Host: `localhost:${demo.port}` })).status).toBe(200);
    expect(demo.fleet.list().map((s) => s.state)).toEqual(["running", "running"]);
  });

  it("never answers a foreign Origin's negotiate with credentials; the page's own origins get it", async () => {
    const host = `127.0.0.1:${demo.port}`;
    for (const origin of ["http://evil.example", `http://localhost:${demo.port + 1}`, "null"]) {
      const preflight = await raw("OPTIONS", "/chat/negotiate?negotiateVersion=1", { Host: host, Origin: origin, "Access-Control-Request-Method": "POST" });
      const negotiate = await raw("POST", "/chat/negotiate?negotiateVersion=1&user=mallory", { Host: host, Origin: origin });
      for (const r of [preflight, negotiate]) {
        expect(r.status, origin).toBe(403);
        expect(r.headers["access-control-allow-credentials"], origin).toBeUndefined();
        expect(r.body).not.toContain("accessToken");
      }
    }
    for (const origin of [`http://127.0.0.1:${demo.port}`, `http://localhost:${demo.port}`]) {
      const ok = await raw("POST", "/chat/negotiate?negotiateVersion=1&user=alice", { Host: host, Origin: origin });
      expect(ok.status, origin).toBe(200);
      expect(ok.headers["access-control-allow-origin"]).toBe(origin);
      expect(JSON.parse(ok.body)).toHaveProperty("accessToken");
    }
  });

  it("lists, shuts down, kills and adds servers; with none running, negotiate refuses in the protocol's error field", async () => {
    const list = await (await fetch(new URL("/api/servers", demo.url))).json();
    expect(list.servers.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([["server-a", "running"], ["server-b", "running"]]);
    const started = await post("/api/servers/server-a/shutdown", { mode: "WaitForClientsClose" });
    expect([started.status, (await started.json()).server.state]).toEqual([202, "shuttingDown"]);
    expect((await post("/api/servers/server-a/shutdown", { mode: "MigrateClients" })).status).toBe(409);
    const killed = await post("/api/servers/server-b/kill", {});
    expect([killed.status, (await killed.json()).server.state]).toEqual([200, "killed"]);
    // No running server: a 200 with `error` (what ASP.NET Core's NegotiationResponse.Error is for), not a 503.
    const none = await post("/chat/negotiate?negotiateVersion=1&user=alice", "");
    expect([none.status, await none.json()]).toEqual([200, { error: "No app server is available." }]);
    const added = await post("/api/servers", {});
    expect([added.status, (await added.json()).server]).toEqual([201, expect.objectContaining({ id: "server-c", state: "running" })]);
  });
});
