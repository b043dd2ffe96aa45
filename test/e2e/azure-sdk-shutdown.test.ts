// The real server SDK (Microsoft.Azure.SignalR 1.34.0, unmodified, in test/dotnet/ChatServer)
// against the kit's MiniService, with real @microsoft/signalr clients wrapped in
// GracefulConnection negotiating through the C# app (behind a load balancer, as in production).
// One service and one set of processes for the whole file, in order: chat, then SIGTERM in
// MigrateClients mode, SIGTERM in WaitForClientsClose mode, and a killed process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MiniService } from "../../src/service/mini-service.js";
import { MiniLoadBalancer } from "../../src/server/load-balancer.js";
import type { MiniServer } from "../../src/server/mini-server.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import { ChatClient, allBack, chatEvents, helloFrom, until, type ChatMessage, stopClients } from "./chat-fixture.js";
import { ChatServerProcess, ChatStoreServer, type ShutdownModeName } from "./azure-sdk-fixture.js";

describeDotnet("the real Azure SignalR server SDK against the kit's service", () => {
  let service: MiniService;
  let store: ChatStoreServer;
  let lb: MiniLoadBalancer;
  const servers: ChatServerProcess[] = [];
  const clients: ChatClient[] = [];
  /** Live "message" deliveries per client, in arrival order. */
  const live = new Map<ChatClient, ChatMessage[]>();
  let connectionString = "";
  /** Sender-order inversions across a server switch (see chatThrough), reported at the end. */
  const reordered = new Set<string>();
  /** Messages whose broadcast the real SDK itself failed to send while stopping, reported at the end. */
  const sdkLost = new Set<string>();
  const stopped = () => new Set(servers.filter((s) => !s.isRunning).map((s) => s.id));

  const startServer = async (serverId: string, mode: ShutdownModeName) => {
    const s = await ChatServerProcess.start({ serverId, connectionString, mode, timeoutSeconds: 10, storeUrl: store.url });
    servers.push(s);
    return s;
  };
  const serverOf = (c: ChatClient) => service.connections().find((x) => x.connectionId === c.conn.connectionId)?.serverId;
  const newClient = async (user: string) => {
    // Echo is idempotent: an Echo whose answer was cut off by a migration (Azure never delivers it)
    // is retried by the SDK instead of failing with InvocationInterruptedError.
    const c = new ChatClient(`${lb.url("chat")}?graceful=1`, user, "room-1", { retryableMethods: ["SendMessage", "Echo"] });
    live.set(c, []);
    c.conn.on("message", (m: ChatMessage) => live.get(c)!.push(m));
    clients.push(c);
    await c.conn.start();
    await helloFrom(c.conn);
    return c;
  };

  /**
   * Chats for a while around `action`, then checks 0 lost, 0 duplicated, 0 out of order, in the
   * project's sense (the chaos and transition tests use the same): every accepted message stored
   * once and shown by every client, no broadcast twice on a live connection, each sender in order
   * in the app's view (by server-assigned id). Live arrival order across two servers is not
   * promised by Azure either: the message in flight on the old server may be broadcast after the
   * next one, handled by the new server.
   */
  async function chatThrough(action: () => Promise<void>): Promise<void> {
    for (const c of clients) c.startChatting(60);
    await until(() => clients.every((c) => c.accepted.length >= 3), chatEvents(clients, "settled"), 10_000, "chat under way");
    await action();
    await allBack(clients, () => servers, 20_000);
    const target = Math.max(...clients.map((c) => c.seq)) + 5;
    await until(() => clients.every((c) => c.accepted.length >= 3 && c.seq >= target), chatEvents(clients, "settled"), 10_000, "chat after the transition");
    for (const c of clients) c.stopChatting();
    await until(() => clients.every((c) => c.pendingInvokes === 0 && c.accepted.length + c.sendErrors.length === c.seq), chatEvents(clients, "settled"), 15_000, "every send settled");
    // Every accepted message reaches the store (a send resolves when it leaves the client)...
    const unstored = () => clients.flatMap((c) => c.accepted.filter((seq) => !store.has(c.user, seq)).map((seq) => `${c.user}#${seq}`));
    await until(() => unstored().length === 0, [{ on: store.on.bind(store), off: store.off.bind(store), name: "stored" }], 10_000, "every accepted message stored", () => unstored().join(" "));
    // ...once, and every client shows all of it, except broadcasts the real SDK reports it could
    // not send (see ChatServerProcess.failedBroadcasts): a message still being handled on a server
    // that has already stopped its links. Those are counted and reported; anything else missing,
    // or more missing than the SDK reports, fails the test.
    const unshown = () => [...new Set(clients.flatMap((c) => store.messages.filter((m) => !c.shown.has(m.id))))];
    const sdkFailures = () => servers.reduce((n, s) => n + s.failedBroadcasts, 0);
    const explained = () => unshown().every((m) => stopped().has(m.serverId)) && unshown().length <= sdkFailures();
    await until(explained, [...chatEvents(clients, "shown"), ...servers.map((s) => ({ on: s.on.bind(s), off: s.off.bind(s), name: "line" }))], 10_000, "every message shown, but for broadcasts the SDK reports lost", () =>
      `unshown: ${unshown().map((m) => JSON.stringify(m)).join(" ")}; SDK-reported failures: ${sdkFailures()}\n` +
      clients.map((c) => `${c.user}: ${c.history.slice(-8).join("\n  ")}`).join("\n"));
    for (const m of unshown()) sdkLost.add(`${m.clientMsgId}@${m.serverId}`);
    for (const c of clients) {
      expect(c.sendErrors, c.user).toEqual([]);
      expect(c.invokes.rejected, c.user).toEqual([]);
      // No broadcast twice on live connections.
      const ids = live.get(c)!.map((m) => m.id);
      expect(new Set(ids).size, `${c.user}: live duplicates`).toBe(ids.length);
      // Each sender once and in order, as the app shows messages (by the server-assigned id)...
      const view = [...c.shown.values()].sort((x, y) => x.id - y.id);
      for (const sender of clients) {
        const mine = view.filter((m) => m.user === sender.user);
        expect(new Set(mine.map((m) => m.seq)).size, `${c.user} shows ${sender.user} once`).toBe(mine.length);
        // ...except where Azure itself can't promise it: a message still running on the server that
        // left, stored after the sender's next one, already handled by the new server (the service
        // switches servers between two messages, but the old one may finish its last one later).
        for (let i = 0; i < mine.length; i++)
          for (let j = i + 1; j < mine.length; j++) {
            if (mine[i]!.seq < mine[j]!.seq) continue;
            const pair = `${sender.user}#${mine[j]!.seq}@${mine[j]!.serverId} before #${mine[i]!.seq}@${mine[i]!.serverId}`;
            const straddles = mine[i]!.serverId !== mine[j]!.serverId && stopped().has(mine[j]!.serverId);
            expect(straddles, `${c.user} shows ${pair}`).toBe(true);
            reordered.add(pair);
          }
      }
    }
  }

  beforeAll(async () => {
    service = await MiniService.start();
    connectionString = `Endpoint=${service.endpoint};AccessKey=${service.accessKey};Version=1.0;`;
    store = await ChatStoreServer.start();
    // The load balancer forwards negotiates to a running app server; the connection then goes to the service.
    lb = await MiniLoadBalancer.start({ servers: () => servers.filter((s) => s.isRunning) as unknown as MiniServer[] });
    await Promise.all([startServer("app-a", "MigrateClients"), startServer("app-b", "WaitForClientsClose"), startServer("app-c", "MigrateClients")]);
  }, 120_000);

  afterAll(async () => {
    console.log(
      `azure-sdk: ${store?.messages.length ?? 0} messages; ${sdkLost.size} broadcasts the SDK failed to send while stopping${sdkLost.size ? ` (${[...sdkLost].join(", ")})` : ""}; ` +
        `${reordered.size} sender-order inversions across a server switch${reordered.size ? ` (${[...reordered].join(", ")})` : ""}`,
    );
    // AZURE_SDK_LOGS=<dir>: every app server's output and every client's SDK events, for diagnosis.
    const dir = process.env.AZURE_SDK_LOGS;
    if (dir) {
      for (const s of servers) writeFileSync(join(dir, `azure-sdk-${s.id}.log`), s.lines.join("\n"));
      writeFileSync(join(dir, "azure-sdk-clients.log"), clients.map((c) => `${c.user} accepted=${c.accepted.join(",")}\n  ${c.history.join("\n  ")}`).join("\n"));
    }
    await stopClients(clients);
    await Promise.allSettled(servers.map((s) => s.kill()));
    await lb?.stop();
    await store?.stop();
    await service?.stop();
  });

  it("links as one server per process (5 links each), negotiates through the app, chats, echoes, joins groups", async () => {
    expect(service.servers().map((s) => [s.serverId, s.linkCount, s.online]).sort()).toEqual([
      ["app-a", 5, true],
      ["app-b", 5, true],
      ["app-c", 5, true],
    ]);
    for (const user of ["ann", "bob", "cid", "dan", "eve", "fay"]) await newClient(user);
    // Least-connections routing spreads them: two per server; each learnt its server from the hello.
    expect(new Set(clients.map(serverOf)).size).toBe(3);
    for (const c of clients) expect(c.conn.serverId).toBe(serverOf(c));
    // The app saw the client's query (graceful=1) and the SDK's claims; the payload comes back intact.
    const first = clients[0]!;
    const owner = servers.find((s) => s.id === serverOf(first))!;
    expect((await owner.waitForEvent((e) => e.what === "connected" && e.details.connectionId === first.conn.connectionId, "connected")).details).toMatchObject({ graceful: true, migratedFrom: null });
    expect(await first.conn.invoke("Echo", { n: 9007199254740991, s: "é", a: [1, null] })).toEqual({ n: 9007199254740991, s: "é", a: [1, null] });
    // Groups with acks (JoinGroupWithAck), across servers.
    const got: string[] = [];
    const three = new Promise<void>((resolve) => {
      for (const c of clients) c.conn.on("roomMessage", (t: string) => got.push(`${c.user}:${t}`) === 3 && resolve());
    });
    for (const c of clients.slice(0, 3)) await c.conn.invoke("Join", "room-x");
    await clients[5]!.conn.invoke("ToRoom", "room-x", "hi");
    await three;
    expect(got.sort()).toEqual(["ann:hi", "bob:hi", "cid:hi"]);
  }, 30_000);

  it("client results (Clients.Client(id).InvokeAsync) travel through the service, on one server and across two", async () => {
    for (const c of clients) c.conn.on("Ask", (q: string) => `${c.user} answers ${q}`);
    const [asker] = clients;
    const elsewhere = clients.find((c) => serverOf(c) !== serverOf(asker!))!;
    expect(await asker!.conn.invoke("AskCaller", "q1")).toBe(`${asker!.user} answers q1`);
    expect(await asker!.conn.invoke("AskClient", elsewhere.conn.connectionId, "q2")).toBe(`${elsewhere.user} answers q2`);
    await expect(asker!.conn.invoke("AskClient", "no-such-connection", "q3")).rejects.toThrow(/does not exist|not found/i);
  }, 20_000);

  it("MigrateClients: SIGTERM runs FIN, FINACK, then the hooks; every client moves with its connection id, 0 lost", async () => {
    const a = servers.find((s) => s.id === "app-a")!;
    const onA = clients.filter((c) => serverOf(c) === "app-a");
    expect(onA.length).toBeGreaterThan(0);
    const idsBefore = new Map(onA.map((c) => [c, c.conn.connectionId]));
    const migrated = new Map<ChatClient, unknown>();
    for (const c of onA) c.conn.events.on("migrated", (e) => migrated.set(c, e));
    await chatThrough(async () => {
      expect(await a.stop()).toBe(0);
    });
    // The real SDK's sequence, from its own log: FIN answered, then the hook.
    const finAck = a.indexOf((l) => /Received FinAck ping/.test(l));
    const hook = a.events.find((e) => e.what === "hook");
    expect(finAck).toBeGreaterThanOrEqual(0);
    expect(hook?.line).toBeGreaterThan(finAck);
    for (const c of onA) {
      // Same connection id; the SDK saw "migrated"; the new server saw the migration feature.
      expect(c.conn.connectionId).toBe(idsBefore.get(c));
      expect(migrated.get(c)).toMatchObject({ from: "app-a", connectionId: idsBefore.get(c) });
      const to = servers.find((s) => s.id === serverOf(c))!;
      expect(to.id).not.toBe("app-a");
      const connected = await to.waitForEvent((e) => e.what === "connected" && e.details.connectionId === idsBefore.get(c), "migrated connection");
      // Context.Features has it; Context.GetHttpContext().Features (the article's) never does.
      expect(connected.details).toMatchObject({ migratedFrom: "app-a", httpContextFeature: false });
      expect(a.events.find((e) => e.what === "disconnected" && e.details.connectionId === idsBefore.get(c))?.details).toMatchObject({ migrateTo: to.id });
    }
  }, 60_000);

  it("WaitForClientsClose: the hook's exit reaches the clients, they finish, reconnect to a surviving server and resume, 0 lost", async () => {
    const b = servers.find((s) => s.id === "app-b")!;
    const onB = clients.filter((c) => serverOf(c) === "app-b");
    expect(onB.length).toBeGreaterThan(0);
    const exits = new Map<ChatClient, unknown>();
    for (const c of onB) c.conn.events.on("exit", (e) => exits.set(c, e));
    const drafts = b.events.length;
    await chatThrough(async () => {
      expect(await b.stop()).toBe(0);
    });
    expect(b.events.find((e) => e.what === "hook")?.line).toBeGreaterThan(b.indexOf((l) => /Received FinAck ping/.test(l)));
    for (const c of onB) {
      expect(exits.get(c)).toMatchObject({ serverId: "app-b", mode: "WaitForClientsClose" });
      expect(serverOf(c)).toBe("app-c");
      // onExit ran on the old server before the client left it.
      expect(b.events.slice(drafts).some((e) => e.what === "draft" && e.details.user === c.user)).toBe(true);
    }
  }, 60_000);

  it("a killed app process: its clients come back on a server that is still running", async () => {
    await startServer("app-d", "MigrateClients");
    const c = servers.find((s) => s.id === "app-c")!;
    const onC = clients.filter((x) => serverOf(x) === "app-c");
    expect(onC.length).toBeGreaterThan(0);
    await c.kill();
    await allBack(clients, () => servers, 20_000);
    for (const x of onC) expect(serverOf(x)).toBe("app-d");
    // And they chat again.
    const before = store.messages.length;
    await onC[0]!.conn.invoke("SendMessage", "after-kill", onC[0]!.user, 10_000, "back");
    await until(() => clients.every((x) => x.shown.has(before + 1)), chatEvents(clients, "shown"), 10_000, "the message after the kill shown everywhere");
  }, 60_000);
});
