// The hub wiring (src/client/hub-wiring.ts): our callbacks and the app's handlers on each connection,
// each guarded by the host's "is it still ours", detached when the connection is retired.
import { describe, expect, it } from "vitest";
import { HubWiring, markGraceful, type WiringHost } from "../../src/client/hub-wiring";
import type { HubLike } from "../../src/client/hub-like";
import { FakeHubConnection } from "./fake-hub-connection";

function setup() {
  const log: string[] = [];
  const a = new FakeHubConnection([], { label: "a" });
  const b = new FakeHubConnection([], { label: "b" });
  let current: HubLike = a;
  let live: HubLike[] = [a];
  const name = (h: HubLike) => (h === a ? "a" : "b");
  const host: WiringHost = {
    exitMethod: "exit",
    isAccepted: (h) => h === current,
    isCurrent: (h) => h === current,
    gotHello: (...args) => log.push(`hello ${JSON.stringify(args[0])}`),
    gotExit: (...args) => log.push(`exit ${JSON.stringify(args[0])}`),
    gotClose: (e, refused) => log.push(`close ${e?.message} refused=${refused}`),
    gotReconnecting: () => log.push("reconnecting"),
    gotReconnected: (id) => log.push(`reconnected ${id}`),
    liveHubs: () => live,
  };
  const wiring = new HubWiring(host);
  const wrap = (tag: string) => (h: (...a: any[]) => unknown) => (...args: any[]) => h(tag, ...args);
  return { log, a, b, wiring, wrap, name, setCurrent: (h: HubLike) => (current = h), setLive: (l: HubLike[]) => (live = l) };
}

describe("HubWiring", () => {
  it("routes hello, exit and the callbacks of the current connection only", async () => {
    const { log, a, b, wiring, setCurrent } = setup();
    wiring.attach(a);
    wiring.attach(b);
    await a.start();
    a.deliver("graceful.hello", { serverId: "s1" });
    a.deliver("EXIT", { serverId: "s1" }); // method names are case-insensitive, as in SignalR
    b.deliver("graceful.hello", { serverId: "s2" }); // not ours: ignored
    setCurrent(b);
    b.deliver("exit", {});
    a.drop(); // a is no longer current: its close is not a drop
    await b.start();
    b.drop(new Error("gone"));
    expect(log).toEqual(['hello {"serverId":"s1"}', 'exit {"serverId":"s1"}', "exit {}", "close gone refused=false"]);
  });

  it("tells the server's no-reconnect Close from our own stop", async () => {
    const { log, a, wiring } = setup();
    wiring.attach(a);
    await a.start();
    a.closeFromServer("bye", false);
    await a.start();
    a.closeFromServer("bye", true);
    await a.start();
    await wiring.stop(a); // our own stop: its close is not a refusal
    expect(log).toEqual([
      "close Server returned an error on close: bye refused=true",
      "close Server returned an error on close: bye refused=false",
      "close undefined refused=false",
    ]);
  });

  it("puts app handlers on every live connection, on later ones, once each; off and detach remove them", async () => {
    const { log, a, b, wiring, wrap, setLive } = setup();
    const h = (...args: unknown[]) => log.push(`app ${args.join(" ")}`);
    wiring.attach(a);
    wiring.on("Chat", h, wrap("w1"));
    wiring.on("chat", h, wrap("w2")); // the same handler again: kept once
    wiring.attach(b); // a later connection gets it too
    setLive([a, b]);
    a.deliver("chat", 1);
    b.deliver("chat", 2);
    wiring.detach(b);
    b.deliver("chat", 3);
    wiring.off("CHAT");
    a.deliver("chat", 4);
    wiring.off("chat", h); // nothing left: no error
    expect(log).toEqual(["app w1 1", "app w1 2"]);
  });

  it("marks a Disconnected connection's URL once, leaves others alone", () => {
    const a = new FakeHubConnection();
    markGraceful(a);
    markGraceful(a);
    expect(a.baseUrl).toBe("http://host/chat?graceful=1");
    const q = new FakeHubConnection();
    q.baseUrl = "http://host/chat?x=1";
    markGraceful(q);
    expect(q.baseUrl).toBe("http://host/chat?x=1&graceful=1");
    const started = new FakeHubConnection();
    started.state = "Connected";
    markGraceful(started);
    expect(started.baseUrl).toBe("http://host/chat");
  });
});
