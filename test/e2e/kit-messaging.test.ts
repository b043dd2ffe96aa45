// The kit with the real @microsoft/signalr client: negotiate redirect, invocations,
// broadcasts across servers, groups and users.
import { afterEach, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { Hub, HubException } from "../../src/testing/index.js";
import { nextCall, startKit, type Kit } from "./kit.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
  add(a: number, b: number) {
    return a + b;
  }
  whoAmI() {
    return { connectionId: this.context.connectionId, userId: this.context.userId ?? null, serverId: this.context.serverId };
  }
  fail() {
    throw new Error("secret detail");
  }
  refuse() {
    throw new HubException("not allowed");
  }
  async sendMessage(user: string, text: string) {
    await this.clients.all.send("message", user, text);
  }
  async join(group: string) {
    await this.groups.add(this.context.connectionId, group);
  }
  async leave(group: string) {
    await this.groups.remove(this.context.connectionId, group);
  }
  async toGroup(group: string, text: string) {
    await this.clients.group(group).send("groupMessage", group, text);
  }
  async toGroupExceptMe(group: string, text: string) {
    await this.clients.othersInGroup(group).send("groupMessage", group, text);
  }
  async toUser(user: string, text: string) {
    await this.clients.user(user).send("direct", text);
  }
  async toOthers(text: string) {
    await this.clients.others.send("others", text);
  }
  async *counter(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }
}

let kit: Kit;
afterEach(async () => kit?.close());

describe("negotiate", () => {
  it("redirects to the service with a signed token for the hub", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const res = await fetch(kit.servers[0]!.url("chat") + "/negotiate?negotiateVersion=1&user=alice", { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; accessToken: string };
    // As the real server SDK: the original path and the client's own query ride along.
    expect(body.url).toBe(`${kit.service.endpoint}/client/?hub=chat&asrs.op=%2Fchat&user=alice`);
    const claims = decodeJwt(body.accessToken);
    expect(claims.aud).toBe(`${kit.service.endpoint}/client/?hub=chat`);
    expect(claims.nameid).toBe("alice");
    expect(claims.exp! - claims.iat!).toBe(3600);
    // The service's own negotiate answers v1 with a connection token.
    const n = await fetch(`${kit.service.endpoint}/client/negotiate?hub=chat&negotiateVersion=1`, { method: "POST", headers: { Authorization: `Bearer ${body.accessToken}` } });
    const nb = (await n.json()) as Record<string, unknown>;
    expect(nb).toMatchObject({
      negotiateVersion: 1,
      availableTransports: [
        { transport: "WebSockets", transferFormats: ["Text", "Binary"] },
        { transport: "ServerSentEvents", transferFormats: ["Text"] },
        { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
      ],
    });
    expect(typeof nb.connectionId).toBe("string");
    expect(nb.connectionToken).not.toBe(nb.connectionId);
    expect(nb).not.toHaveProperty("useStatefulReconnect");
    // v0 has no connection token.
    const n0 = (await (await fetch(`${kit.service.endpoint}/client/negotiate?hub=chat`, { method: "POST", headers: { Authorization: `Bearer ${body.accessToken}` } })).json()) as Record<string, unknown>;
    expect(n0.negotiateVersion).toBe(0);
    expect(n0).not.toHaveProperty("connectionToken");
  });

  it("the real client connects through the redirect, with the user id", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const c = await kit.connect("chat", { user: "bob" });
    const me = await c.invoke("WhoAmI");
    expect(me).toEqual({ connectionId: c.connectionId, userId: "bob", serverId: "server-a" });
    expect(kit.service.connections()).toEqual([{ connectionId: c.connectionId, hub: "chat", serverId: "server-a", userId: "bob", groups: [], transport: "WebSockets", protocol: "json", statefulReconnect: false }]);
  });
});

describe("invocations", () => {
  it("echo, send, case-insensitive methods, server streams", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const c = await kit.connect();
    expect(await c.invoke("echo", { a: [1, "x"] })).toEqual({ a: [1, "x"] });
    expect(await c.invoke("ECHO", null)).toBeNull();
    expect(await c.invoke("Add", 2, 3)).toBe(5);
    const got = nextCall(c, "message");
    await c.send("sendmessage", "me", "hi");
    expect(await got).toEqual(["me", "hi"]);
    const items: number[] = [];
    await new Promise<void>((resolve, reject) =>
      c.stream<number>("Counter", 3).subscribe({ next: (i) => items.push(i), complete: resolve, error: reject }),
    );
    expect(items).toEqual([0, 1, 2]);
  });

  it("gives the .NET error texts and keeps the connection", async () => {
    kit = await startKit({ hubs: { chat: Chat } });
    const c = await kit.connect();
    await expect(c.invoke("Nope")).rejects.toThrow("Failed to invoke 'Nope' due to an error on the server. HubException: Method does not exist.");
    await expect(c.invoke("Fail")).rejects.toThrow(/^An unexpected error occurred invoking 'Fail' on the server\.$/);
    await expect(c.invoke("Refuse")).rejects.toThrow("An unexpected error occurred invoking 'Refuse' on the server. HubException: not allowed");
    await expect(c.invoke("Add", 1)).rejects.toThrow("Invocation provides 1 argument(s) but target expects 2.");
    await expect(c.invoke("onConnected")).rejects.toThrow("Method does not exist.");
    expect(await c.invoke("Echo", 7)).toBe(7);
  });
});

describe("fan-out", () => {
  it("broadcasts reach the clients of every server", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
    const a = await kit.connect("chat", { server: kit.servers[0] });
    const b = await kit.connect("chat", { server: kit.servers[1] });
    // Least connections: the second client lands on the other server.
    expect(new Set(kit.service.connections().map((x) => x.serverId))).toEqual(new Set(["server-a", "server-b"]));
    const gotA = nextCall(a, "message");
    const gotB = nextCall(b, "message");
    await a.invoke("SendMessage", "a", "hello");
    expect(await gotA).toEqual(["a", "hello"]);
    expect(await gotB).toEqual(["a", "hello"]);
    const others = nextCall(b, "others");
    let aGotOthers = false;
    a.on("others", () => (aGotOthers = true));
    await a.invoke("ToOthers", "x");
    expect(await others).toEqual(["x"]);
    await b.invoke("Echo", 1); // a round trip later, a still saw nothing
    expect(aGotOthers).toBe(false);
  });

  it("groups and users, across servers, nothing leaks", async () => {
    kit = await startKit({ hubs: { chat: Chat }, servers: 2 });
    const a = await kit.connect("chat", { user: "alice" });
    const b = await kit.connect("chat", { user: "bob" });
    const a2 = await kit.connect("chat", { user: "alice" });
    await a.invoke("Join", "room");
    await b.invoke("Join", "room");
    const leaked: unknown[] = [];
    a2.on("groupMessage", (...x) => leaked.push(x));
    a2.on("direct", (...x) => leaked.push(["direct-a2", ...x]));
    b.on("direct", (...x) => leaked.push(["direct-b", ...x]));
    const inRoomA = nextCall(a, "groupMessage");
    const inRoomB = nextCall(b, "groupMessage");
    await a2.invoke("ToGroup", "room", "t1");
    expect(await inRoomA).toEqual(["room", "t1"]);
    expect(await inRoomB).toEqual(["room", "t1"]);
    expect(kit.service.connections().find((x) => x.connectionId === a.connectionId)!.groups).toEqual(["room"]);
    await b.invoke("Leave", "room");
    const again = nextCall(a, "groupMessage");
    await a.invoke("ToGroup", "room", "t2");
    expect(await again).toEqual(["room", "t2"]);
    // User messages reach every connection of that user, on any server.
    const d1 = nextCall(a, "direct");
    await b.invoke("ToUser", "alice", "psst");
    expect(await d1).toEqual(["psst"]);
    await a2.invoke("Echo", 0);
    await b.invoke("Echo", 0);
    expect(leaked).toEqual([["direct-a2", "psst"]]);
  });
});
