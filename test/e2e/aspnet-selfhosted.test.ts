// GracefulConnection in front of real self-hosted ASP.NET Core SignalR servers (the C# app server
// in plain mode, no Azure) behind MiniLoadBalancer: a rolling restart by SIGTERM costs the clients
// a reconnect each and nothing they sent.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniLoadBalancer } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { describeDotnet } from "../dotnet/dotnet.js";
import type { ChatMessage } from "./chat-fixture.js";


class Chatter {
  readonly conn: GracefulConnection;
  readonly accepted: string[] = [];
  /** Own messages seen coming back: a server broadcasts each message it ran before it answers the call. */
  readonly echoed = new Set<string>();
  readonly errors: Error[] = [];
  readonly resumes: string[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  constructor(url: string, readonly name: string) {
    const hub = new HubConnectionBuilder().withUrl(url).withStatefulReconnect().configureLogging(LogLevel.None).build();
    this.conn = new GracefulConnection(hub, {
      retryableMethods: ["SendMessage"],
      reconnectPolicy: { nextRetryDelayInMilliseconds: (c) => (c.previousRetryCount < 20 ? 50 : null) },
    });
    this.conn.events.on("resumed", (e) => this.resumes.push(e.reason));
    this.conn.on("message", (m: ChatMessage) => void (m.user === name && this.echoed.add(m.clientMsgId)));
  }

  resumed(reason: string): Promise<void> {
    if (this.resumes.includes(reason)) return Promise.resolve();
    return new Promise((resolve) => {
      const h = (e: { reason: string }) => e.reason === reason && (this.conn.events.off("resumed", h), resolve());
      this.conn.events.on("resumed", h);
    });
  }

  startChatting(everyMs: number): void {
    this.timer = setInterval(() => {
      const seq = ++this.seq;
      const id = `${this.name}#${seq}`;
      const p = this.conn.send("SendMessage", id, this.name, seq, "hi").then(() => void this.accepted.push(id), (e: Error) => void this.errors.push(e));
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }, everyMs);
  }

  /** Stops sending and waits until every send so far was accepted or refused. */
  async stopChatting(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }
}

describeDotnet("GracefulConnection against real self-hosted ASP.NET Core servers", () => {
  const all: AspNetServer[] = [];
  let lb: MiniLoadBalancer | undefined;
  let chatters: Chatter[] = [];
  afterEach(async () => {
    await Promise.all(chatters.map((c) => c.conn.stop()));
    await lb?.stop();
    await Promise.all(all.map((s) => s.kill()));
  });
  const startServer = async () => {
    const s = await AspNetServer.start({ project: "ChatServer" });
    all.push(s);
    return s;
  };

  it("a rolling restart by SIGTERM: every client reconnects and resumes, nothing accepted is lost", async () => {
    const servers = await Promise.all([startServer(), startServer()]);
    lb = await MiniLoadBalancer.start({ servers: () => servers });
    chatters = ["ann", "bob", "cyd", "dan"].map((n) => new Chatter(lb!.url("chat"), n));
    await Promise.all(chatters.map((c) => c.conn.start()));
    const home = await Promise.all(chatters.map((c) => c.conn.invoke<string>("WhoAmI")));
    expect(new Set(home).size).toBe(2); // both servers have clients to lose
    for (const c of chatters) c.startChatting(10);

    for (const i of [0, 1]) {
      const old = servers[i]!;
      const serverId = await whoIs(old);
      const affected = chatters.filter((_, k) => home[k] === serverId);
      const back = Promise.all(affected.map((c) => c.resumed("dropped")));
      expect(await old.terminate()).toBe(0); // a clean host shutdown
      await back;
      servers[i] = await startServer();
      for (const c of affected) home[chatters.indexOf(c)] = await c.conn.invoke<string>("WhoAmI");
      for (const c of affected) c.resumes.length = 0;
    }
    await Promise.all(chatters.map((c) => c.stopChatting()));

    // A send is accepted when the server answered it (GracefulConnection re-sends one its
    // connection lost); the server broadcast the message before answering, so its sender saw it.
    expect(chatters.flatMap((c) => c.errors)).toEqual([]);
    expect(chatters.reduce((n, c) => n + c.accepted.length, 0)).toBeGreaterThan(40);
    for (const c of chatters) expect(c.accepted.filter((id) => !c.echoed.has(id)), c.name).toEqual([]);
    for (const c of chatters) expect(c.conn.state).toBe("Connected");
  }, 60_000);
});

/** The id a server process gives itself (its hub's WhoAmI), asked directly. */
async function whoIs(s: AspNetServer): Promise<string> {
  const c = new HubConnectionBuilder().withUrl(s.url("chat")).configureLogging(LogLevel.None).build();
  await c.start();
  try {
    return await c.invoke<string>("WhoAmI");
  } finally {
    await c.stop();
  }
}
