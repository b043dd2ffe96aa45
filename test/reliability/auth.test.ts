// Authentication and isolation, beyond test/e2e/kit-bad-input.test.ts (which covers bad
// tokens at the service's negotiate in the Authorization header, a missing/garbage token at
// the WebSocket, a client token and a wrong-key token at the server endpoint). Here: every
// kind of bad token at the WebSocket connect and in the browsers' `access_token` query, bad
// server-link tokens, crossed audiences, and no leak across users or groups over two
// servers, before and after a migration.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import type { HubConnection } from "@microsoft/signalr";
import { GracefulShutdownMode, Hub, clientAudience, serverAudience, signToken } from "../../src/testing/index.js";
import { nextCall, startKit, type Kit } from "../e2e/kit.js";
import { negotiateAtService, rawSocket } from "../e2e/raw-client.js";
import { upgrade } from "./wire.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
  whoAmI() {
    return this.context.userId ?? null;
  }
  async join(group: string) {
    await this.groups.add(this.context.connectionId, group);
  }
  async toUser(user: string, text: string) {
    await this.clients.user(user).send("direct", text);
  }
  async toGroup(group: string, text: string) {
    await this.clients.group(group).send("group", group, text);
  }
}

let kit: Kit;
let ep: string;
let wsEp: string;
const t: Record<string, string> = {};

beforeAll(async () => {
  kit = await startKit({ hubs: { chat: Chat, other: Chat }, servers: 2, serverOptions: { gracefulShutdown: { mode: GracefulShutdownMode.MigrateClients, timeoutMs: 3_000 } } });
  ep = kit.service.endpoint;
  wsEp = ep.replace("http", "ws");
  const key = kit.service.accessKey;
  const secret = new TextEncoder().encode(key);
  const now = Math.floor(Date.now() / 1000);
  const jwt = (aud: string) => new SignJWT({ nameid: "mallory" }).setProtectedHeader({ alg: "HS256" }).setAudience(aud);
  t.good = await signToken({ audience: clientAudience(ep, "chat"), accessKey: key, userId: "alice" });
  t.expired = await jwt(clientAudience(ep, "chat")).setExpirationTime(now - 120).sign(secret);
  t.notYet = await jwt(clientAudience(ep, "chat")).setNotBefore(now + 600).setExpirationTime(now + 3600).sign(secret);
  t.wrongKey = await signToken({ audience: clientAudience(ep, "chat"), accessKey: "someone-elses-key" });
  t.otherHub = await signToken({ audience: clientAudience(ep, "other"), accessKey: key });
  t.serverAudience = await signToken({ audience: serverAudience(ep, "chat"), accessKey: key });
  t.otherService = await signToken({ audience: clientAudience("http://127.0.0.1:1", "chat"), accessKey: key });
  const [h, , s] = t.good.split(".");
  t.tampered = `${h}.${Buffer.from(JSON.stringify({ aud: clientAudience(ep, "chat"), nameid: "admin", exp: now + 3600 })).toString("base64url")}.${s}`;
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  t.algNone = `${b64({ alg: "none", typ: "JWT" })}.${b64({ aud: clientAudience(ep, "chat"), nameid: "admin", exp: now + 3600 })}.`;
  t.hs512 = await new SignJWT({ nameid: "x" }).setProtectedHeader({ alg: "HS512" }).setAudience(clientAudience(ep, "chat")).setExpirationTime(now + 600).sign(secret);
});

afterAll(async () => kit?.close());

const BAD_CLIENT_TOKENS = ["expired", "notYet", "wrongKey", "otherHub", "serverAudience", "otherService", "tampered", "algNone", "hs512"];

describe("client tokens", () => {
  it.each(BAD_CLIENT_TOKENS)("%s: refused at the WebSocket connect (header and query), though the id was negotiated", async (name) => {
    const n = await negotiateAtService(kit.service, t.good!);
    const url = `${wsEp}/client/?hub=chat&id=${n.connectionToken}`;
    expect((await upgrade(url, { Authorization: `Bearer ${t[name]}` })).status).toBe(401);
    expect((await upgrade(`${url}&access_token=${encodeURIComponent(t[name]!)}`)).status).toBe(401);
    // The id is still unused: the rightful owner connects with it.
    const ok = await upgrade(url, { Authorization: `Bearer ${t.good}` });
    expect(ok.status).toBe(101);
    if ("ws" in ok) ok.ws.close();
  });

  it("the browsers' access_token query: bad tokens refused at negotiate, the good one accepted", async () => {
    const url = (tok: string) => `${ep}/client/negotiate?hub=chat&negotiateVersion=1&access_token=${encodeURIComponent(tok)}`;
    for (const name of BAD_CLIENT_TOKENS) expect((await fetch(url(t[name]!), { method: "POST" })).status, name).toBe(401);
    expect((await fetch(url(t.good!), { method: "POST" })).status).toBe(200);
  });

  it("a connection id negotiated for one hub does not open another hub", async () => {
    const n = await negotiateAtService(kit.service, t.good!);
    expect((await upgrade(`${wsEp}/client/?hub=other&id=${n.connectionToken}`, { Authorization: `Bearer ${t.otherHub}` })).status).toBe(404);
  });

  it("the user id comes from the signed token only: a valid socket is alice, whatever the query says", async () => {
    const n = await negotiateAtService(kit.service, t.good!);
    const s = await rawSocket(`${wsEp}/client/?hub=chat&id=${n.connectionToken}&user=admin&nameid=admin`, { Authorization: `Bearer ${t.good}` });
    s.ws.send('{"protocol":"json","version":1}\u001e');
    await s.waitFor("{}");
    s.ws.send('{"type":1,"invocationId":"1","target":"WhoAmI","arguments":[]}\u001e');
    expect(await s.waitFor('"invocationId":"1"')).toContain('"result":"alice"');
    s.ws.close();
  });
});

describe("server links", () => {
  it("refuses expired, tampered, alg none, other-hub and client tokens, in the header or the query", async () => {
    const key = kit.service.accessKey;
    const secret = new TextEncoder().encode(key);
    const now = Math.floor(Date.now() / 1000);
    const good = await signToken({ audience: serverAudience(ep, "chat"), accessKey: key, claims: { nameid: "intruder" } });
    const [h, , s] = good.split(".");
    const bad: Record<string, string> = {
      expired: await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience(serverAudience(ep, "chat")).setExpirationTime(now - 120).sign(secret),
      tampered: `${h}.${Buffer.from(JSON.stringify({ aud: serverAudience(ep, "chat"), exp: now + 600, nameid: "server-a" })).toString("base64url")}.${s}`,
      algNone: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ aud: serverAudience(ep, "chat"), exp: now + 600 })).toString("base64url")}.`,
      otherHub: await signToken({ audience: serverAudience(ep, "other"), accessKey: key }),
      clientToken: t.good!,
      wrongKeyInQuery: await signToken({ audience: serverAudience(ep, "chat"), accessKey: "wrong" }),
    };
    for (const [name, tok] of Object.entries(bad)) {
      expect((await upgrade(`${wsEp}/server/?hub=chat`, { Authorization: `Bearer ${tok}` })).status, name).toBe(401);
      expect((await upgrade(`${wsEp}/server/?hub=chat&access_token=${encodeURIComponent(tok)}`)).status, name).toBe(401);
    }
    // None of them linked a server: still exactly the two real ones.
    expect(kit.service.servers().map((x) => x.serverId).sort()).toEqual(["server-a", "server-b"]);
    const ok = await upgrade(`${wsEp}/server/?hub=chat`, { Authorization: `Bearer ${good}` });
    expect(ok.status).toBe(101);
    if ("ws" in ok) ok.ws.close();
  });
});

describe("isolation across users and groups", () => {
  it("user A never receives user B's direct or group messages, across two servers and after a migration", async () => {
    const conns: { user: string; c: HubConnection }[] = [];
    for (const user of ["alice", "bob", "alice", "bob"]) conns.push({ user, c: await kit.connect("chat", { user }) });
    // Least-connections routing spreads each user over both servers.
    const where = async () => new Set(await Promise.all(conns.map(({ c }) => c.connectionId!)).then((ids) => ids.map((id) => kit.service.connections().find((x) => x.connectionId === id)!.serverId)));
    expect((await where()).size).toBe(2);
    for (const { user, c } of conns) await c.invoke("Join", `room-${user}`);

    const got = new Map<HubConnection, string[]>();
    for (const { c } of conns) {
      got.set(c, []);
      c.on("direct", (text: string) => got.get(c)!.push(`direct:${text}`));
      c.on("group", (g: string, text: string) => got.get(c)!.push(`group:${g}:${text}`));
    }
    const exchange = async (tag: string) => {
      const [a1, b1, a2, b2] = conns.map((x) => x.c) as [HubConnection, HubConnection, HubConnection, HubConnection];
      const last = [nextCall(b2, "group", (_g, text) => text === `${tag}-end`), nextCall(a2, "group", (_g, text) => text === `${tag}-end`)];
      await a1.invoke("ToUser", "bob", `${tag}-for-bob`);
      await b1.invoke("ToUser", "alice", `${tag}-for-alice`);
      await a2.invoke("ToGroup", "room-bob", `${tag}-to-bobs-room`);
      await b2.invoke("ToGroup", "room-alice", `${tag}-to-alices-room`);
      await a1.invoke("ToGroup", "room-bob", `${tag}-end`);
      await b1.invoke("ToGroup", "room-alice", `${tag}-end`);
      await Promise.all(last);
    };
    const expected = (user: string, tag: string) =>
      user === "alice"
        ? [`direct:${tag}-for-alice`, `group:room-alice:${tag}-to-alices-room`, `group:room-alice:${tag}-end`]
        : [`direct:${tag}-for-bob`, `group:room-bob:${tag}-to-bobs-room`, `group:room-bob:${tag}-end`];

    await exchange("before");
    for (const { user, c } of conns) expect(got.get(c), user).toEqual(expected(user, "before"));

    // Migrate server-a's clients to server-b: groups and users go with them, nothing else.
    for (const { c } of conns) got.set(c, []);
    const report = await kit.servers[0]!.shutdown();
    expect(report).toMatchObject({ migrated: 2, dropped: 0 });
    await exchange("after");
    for (const { user, c } of conns) expect(got.get(c), user).toEqual(expected(user, "after"));

    // A new connection of bob's is in no group until it joins: bob's room does not reach it.
    const fresh = await kit.connect("chat", { user: "bob", server: kit.servers[1] });
    const freshGot: string[] = [];
    fresh.on("group", (g: string) => freshGot.push(g));
    const direct = nextCall(fresh, "direct");
    await conns[0]!.c.invoke("ToGroup", "room-bob", "not-for-fresh");
    await conns[0]!.c.invoke("ToUser", "bob", "for-every-bob");
    expect(await direct).toEqual(["for-every-bob"]);
    expect(freshGot).toEqual([]);
  });
});
