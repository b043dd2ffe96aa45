// The app server dispatches like ASP.NET Core: one invocation per client at a time with
// the reader paused (and bounded), every hub-side error answered with a Completion error,
// stream refusals before anything runs, client-to-server streams and client results.
import { afterEach, describe, expect, it } from "vitest";
import { Subject, type HubConnection } from "@microsoft/signalr";
import { Hub, HubException, type MiniServerOptions } from "../../src/testing/index.js";
import { closed, startKit, type Kit } from "./kit.js";
import { rawClient } from "./raw-client.js";

/** What the hub ran, in order, with the connection and a timestamp. */
const ran: { what: string; conn: string; at: number }[] = [];
const gate = { open: (): void => {}, wait: Promise.resolve() };
function closeGate() {
  gate.wait = new Promise<void>((r) => (gate.open = r));
}

class Chat extends Hub {
  static override streamArguments = { uploadSum: [0], uploadTagged: [1] };
  static override streamingMethods = ["countdown"];
  echo(x: unknown) {
    return x;
  }
  async slow(tag: string) {
    ran.push({ what: `start ${tag}`, conn: this.context.connectionId, at: Date.now() });
    await gate.wait;
    ran.push({ what: `end ${tag}`, conn: this.context.connectionId, at: Date.now() });
    return tag;
  }
  circular() {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }
  big() {
    return 10n ** 20n; // JSON cannot carry a bigint
  }
  async *counter(n: number) {
    ran.push({ what: "counter", conn: this.context.connectionId, at: Date.now() });
    for (let i = 0; i < n; i++) {
      await gate.wait;
      yield i;
    }
  }
  countdown(n: number): AsyncIterable<number> {
    return (async function* () {
      for (let i = n; i > 0; i--) yield i;
    })();
  }
  async uploadSum(numbers: AsyncIterable<number>) {
    let sum = 0;
    for await (const n of numbers) sum += n;
    return sum;
  }
  async uploadTagged(tag: string, items: AsyncIterable<string>) {
    const all: string[] = [];
    for await (const s of items) all.push(s);
    return `${tag}:${all.join(",")}`;
  }
  async askCaller(question: string) {
    return await this.clients.caller.invoke("answer", question);
  }
  async askClient(id: string) {
    try {
      return await this.clients.client(id).invoke("answer", "from another");
    } catch (e) {
      throw new HubException((e as Error).message);
    }
  }
  async askCallerSafely() {
    try {
      return await this.clients.caller.invoke("answer", "?");
    } catch (e) {
      throw new HubException(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
}

let kit: Kit;
afterEach(async () => {
  gate.open();
  ran.length = 0;
  await kit?.close();
});

const start = (serverOptions: Partial<MiniServerOptions> = {}) => startKit({ hubs: { chat: Chat }, serverOptions });
/** A promise that must settle within `ms`, or the test fails saying what hung. */
const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))]);

describe("one invocation per client at a time", () => {
  it("a client's calls run one after another, other clients' in parallel", async () => {
    kit = await start();
    const a = await kit.connect();
    const b = await kit.connect();
    closeGate();
    const calls = [a.invoke("Slow", "a1"), a.invoke("Slow", "a2"), b.invoke("Slow", "b1")];
    await expect.poll(() => ran.map((r) => r.what).sort()).toEqual(["start a1", "start b1"]);
    gate.open();
    expect(await Promise.all(calls)).toEqual(["a1", "a2", "b1"]);
    const order = ran.filter((r) => r.conn === a.connectionId).map((r) => r.what);
    expect(order).toEqual(["start a1", "end a1", "start a2", "end a2"]);
  });

  it("maxParallelInvocationsPerClient raises the limit", async () => {
    kit = await start({ maxParallelInvocationsPerClient: 2 });
    const a = await kit.connect();
    closeGate();
    const calls = [a.invoke("Slow", "a1"), a.invoke("Slow", "a2"), a.invoke("Slow", "a3")];
    await expect.poll(() => ran.map((r) => r.what)).toEqual(["start a1", "start a2"]);
    gate.open();
    expect(await Promise.all(calls)).toEqual(["a1", "a2", "a3"]);
  });

  it("a client that floods calls while paused is closed with the reason once its unread bytes pass the bound; others carry on", async () => {
    kit = await start({ maxPendingInputBytes: 4096 });
    const other = await kit.connect();
    const raw = await rawClient(kit.servers[0]!, kit.service);
    raw.ws.send('{"protocol":"json","version":1}\u001e');
    await raw.waitFor("{}");
    closeGate();
    const call = (i: number) => JSON.stringify({ type: 1, invocationId: String(i), target: "Slow", arguments: [`r${i}`] }) + "\u001e";
    for (let i = 0; i < 200; i++) raw.ws.send(call(i));
    const close = await raw.waitFor('"type":7');
    expect(close).toContain("maxPendingInputBytes");
    await raw.closed;
    // Only the first call ever started: the rest were never read.
    expect(ran.filter((r) => r.what.startsWith("start r"))).toHaveLength(1);
    gate.open();
    expect(await other.invoke("Echo", "fine")).toBe("fine");
  });
});

describe("every hub-side error gets a Completion error", () => {
  it("a value nested deeper than 64 levels fails that call only; 60 levels pass", async () => {
    kit = await start();
    const c = await kit.connect();
    const nest = (depth: number) => {
      let v: unknown = 0;
      for (let i = 0; i < depth; i++) v = [v];
      return v;
    };
    await expect(within(c.invoke("Echo", nest(1000)), 3000, "deep echo")).rejects.toThrow(
      "Failed to invoke 'Echo' due to an error on the server. InvalidDataException: The maximum configured depth of 64 has been exceeded.",
    );
    expect(await c.invoke("Echo", nest(60))).toEqual(nest(60));
  });

  it("a result that cannot be serialized is answered, not logged and left hanging", async () => {
    kit = await start();
    const c = await kit.connect();
    await expect(within(c.invoke("Circular"), 3000, "circular")).rejects.toThrow("An unexpected error occurred invoking 'Circular' on the server. The result could not be serialized.");
    await expect(within(c.invoke("Big"), 3000, "bigint")).rejects.toThrow("An unexpected error occurred invoking 'Big' on the server. The result could not be serialized.");
    expect(await c.invoke("Echo", 1)).toBe(1);
  });
});

describe("streams are checked before anything runs, with the .NET texts", () => {
  it("invoke() of a streaming method and stream() of a normal one are refused; the method never ran", async () => {
    kit = await start();
    const c = await kit.connect();
    await expect(c.invoke("Counter", 2)).rejects.toThrow("The client attempted to invoke the streaming 'Counter' method with a non-streaming invocation.");
    await expect(
      new Promise((resolve, reject) => c.stream("Echo", 1).subscribe({ next: () => {}, complete: () => resolve(undefined), error: reject })),
    ).rejects.toThrow("The client attempted to invoke the non-streaming 'Echo' method with a streaming invocation.");
    expect(ran).toEqual([]);
    const items: number[] = [];
    await new Promise<void>((resolve, reject) => c.stream<number>("Countdown", 3).subscribe({ next: (i) => items.push(i), complete: resolve, error: reject }));
    expect(items).toEqual([3, 2, 1]);
  });

  it("a second StreamInvocation with an id in use is refused, and the first can still be cancelled", async () => {
    kit = await start();
    const raw = await rawClient(kit.servers[0]!, kit.service);
    raw.ws.send('{"protocol":"json","version":1}\u001e');
    await raw.waitFor("{}");
    closeGate();
    raw.ws.send(JSON.stringify({ type: 4, invocationId: "7", target: "Counter", arguments: [100] }) + "\u001e");
    await expect.poll(() => ran.length).toBe(1);
    raw.ws.send(JSON.stringify({ type: 4, invocationId: "7", target: "Counter", arguments: [100] }) + "\u001e");
    expect(await raw.waitFor("already in use")).toContain(JSON.stringify({ type: 3, invocationId: "7", error: "Invocation ID '7' is already in use." }));
    expect(ran).toHaveLength(1); // the second never ran
    raw.ws.send(JSON.stringify({ type: 5, invocationId: "7" }) + "\u001e");
    gate.open();
    await raw.waitFor('{"type":3,"invocationId":"7"}');
  });

  it("a client stream to a method that takes none: 'Client sent 1 stream(s), Hub method expects 0.'", async () => {
    kit = await start();
    const c = await kit.connect();
    const s = new Subject<number>();
    await expect(c.invoke("Circular", s)).rejects.toThrow("An unexpected error occurred invoking 'Circular' on the server. HubException: Client sent 1 stream(s), Hub method expects 0.");
  });
});

describe("client-to-server streams", () => {
  it("a Subject's items reach the hub method as an async iterable, beside ordinary arguments", async () => {
    kit = await start();
    const c = await kit.connect();
    const numbers = new Subject<number>();
    const sum = c.invoke("UploadSum", numbers);
    for (let i = 1; i <= 25; i++) numbers.next(i); // more than the 10-item buffer: the reader waits
    numbers.complete();
    expect(await sum).toBe(325);
    const words = new Subject<string>();
    const tagged = c.invoke("UploadTagged", "t", words);
    words.next("a");
    words.next("b");
    words.complete();
    expect(await tagged).toBe("t:a,b");
  });

  it("a stream the client ends with an error makes the hub's loop throw", async () => {
    kit = await start();
    const c = await kit.connect();
    const numbers = new Subject<number>();
    const sum = c.invoke("UploadSum", numbers);
    numbers.next(1);
    numbers.error(new Error("client gave up"));
    await expect(sum).rejects.toThrow("An unexpected error occurred invoking 'UploadSum' on the server.");
  });
});

describe("client results", () => {
  it("the caller's return value comes back to the hub; its own call does not deadlock the single slot", async () => {
    kit = await start();
    const c = await kit.connect();
    c.on("answer", (q: string) => `answer to ${q}`);
    expect(await c.invoke("AskCaller", "life")).toBe("answer to life");
  });

  it("another client of the same server can be asked, and from outside a hub call", async () => {
    kit = await start();
    const a = await kit.connect();
    const b = await kit.connect();
    b.on("answer", async (q: string) => `b says hi (${q})`);
    expect(await a.invoke("AskClient", b.connectionId)).toBe("b says hi (from another)");
    const ctx = kit.servers[0]!.hubContext("chat");
    expect(await ctx.clients.client(b.connectionId!).invoke("answer", "ctx")).toBe("b says hi (ctx)");
  });

  it("a client error, a missing handler, a timeout and a disconnect each reject with a named error", async () => {
    kit = await start({ clientResultTimeoutMs: 300 });
    const c = await kit.connect();
    c.on("answer", () => {
      throw new Error("no idea");
    });
    await expect(c.invoke("AskCallerSafely")).rejects.toThrow("HubException: ClientResultError: Error: no idea");
    c.off("answer");
    await expect(c.invoke("AskCallerSafely")).rejects.toThrow("ClientResultError: Client didn't provide a result.");
    const silent = await kit.connect();
    silent.on("answer", () => new Promise(() => {})); // never answers
    await expect(silent.invoke("AskCallerSafely")).rejects.toThrow(`ClientResultError: Client '${silent.connectionId}' did not answer 'answer' within 300 ms.`);
    const leaving = await kit.connect();
    leaving.on("answer", () => new Promise(() => {}));
    const id = leaving.connectionId!;
    const asked = kit.servers[0]!.hubContext("chat").clients.client(id).invoke("answer", "x");
    const gone = closed(leaving);
    await leaving.stop();
    await gone;
    await expect(asked).rejects.toThrow(`Connection '${id}' disconnected.`);
  });
});

export type { HubConnection };
