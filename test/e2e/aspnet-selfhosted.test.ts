// GracefulConnection in front of real self-hosted ASP.NET Core SignalR servers (the C# app server
// in plain mode, no Azure) behind MiniLoadBalancer: a rolling restart by SIGTERM costs the clients
// a reconnect each and nothing they sent.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index.js";
import { MiniLoadBalancer } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { describeDotnet } from "../dotnet/dotnet.js";

const PROJECT = process.env.ASPNET_PROJECT ?? "ChatServer";
/** What a server printed for each SendMessage it ran: {"type":"received","id":"…"}. */
const RECEIVED = /"type":"received","id":"([^"]+)"/;

class Chatter {
  readonly conn: GracefulConnection;
  readonly accepted: string[] = [];
  readonly errors: Error[] = [];
  readonly resumes: string[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();

  /** `how`: "invoke" (accepted = the server ran it; interrupted calls are re-sent) or "send" (accepted = handed to a connection). */
  constructor(url: string, readonly name: string, readonly how: "send" | "invoke") {
    const hub = new HubConnectionBuilder().withUrl(url).withStatefulReconnect().configureLogging(LogLevel.None).build();
    this.conn = new GracefulConnection(hub, {
      retryableMethods: ["SendMessage"],
      reconnectPolicy: { nextRetryDelayInMilliseconds: (c) => (c.previousRetryCount < 20 ? 50 : null) },
    });
    this.conn.events.on("resumed", (e) => this.resumes.push(e.reason));
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
      const id = `${this.name}#${++this.seq}`;
      const p = (this.how === "send" ? this.conn.send("SendMessage", id, "hi") : this.conn.invoke<void>("SendMessage", id, "hi")).then(() => void this.accepted.push(id), (e: Error) => void this.errors.push(e));
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }, everyMs);
  }

  /**
   * Stops sending and waits until every call so far was accepted or refused, then until its
   * server has run them all: a last invocation's line comes after theirs (a connection's
   * messages run in order).
   */
  async stopChatting(servers: readonly AspNetServer[]): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
    const barrier = `${this.name}#barrier`;
    await this.conn.invoke("SendMessage", barrier, "");
    await Promise.any(servers.map((s) => s.waitForLine(new RegExp(`"id":"${barrier}"`), 5_000)));
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
    const s = await AspNetServer.start({ project: PROJECT });
    all.push(s);
    return s;
  };

  it("a rolling restart by SIGTERM: every client reconnects and resumes, nothing accepted is lost", async () => {
    const servers = await Promise.all([startServer(), startServer()]);
    lb = await MiniLoadBalancer.start({ servers: () => servers });
    chatters = ["ann", "bob", "cyd", "dan"].map((n) => new Chatter(lb!.url("chat"), n, "invoke"));
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
    await Promise.all(chatters.map((c) => c.stopChatting(servers)));

    const received = new Set(all.flatMap((s) => s.lines.flatMap((l) => l.match(RECEIVED)?.[1] ?? [])));
    const accepted = chatters.flatMap((c) => c.accepted);
    expect(chatters.flatMap((c) => c.errors)).toEqual([]);
    expect(accepted.length).toBeGreaterThan(40);
    expect(accepted.filter((id) => !received.has(id))).toEqual([]);
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
