// Compile-only: checked by `tsc --noEmit -p tsconfig.json`. Every @ts-expect-error line must fail to compile.
import { HubConnectionBuilder } from "@microsoft/signalr";
import { GracefulConnection, type ConnectionState, type GracefulEvents } from "../../src/index";
import { overlap } from "../../src/overlap";

const conn = new GracefulConnection(new HubConnectionBuilder().withUrl("http://localhost/chat").build(), {
  exitMethod: "exit",
  drainTimeoutMs: 25_000,
  retryableMethods: ["SendMessage"],
});

conn.events.on("state", ({ from, to }) => {
  const f: ConnectionState = from;
  const t: ConnectionState = to;
  void f; void t;
});
conn.events.on("migrated", (e) => { const s: string = e.from + e.to; void s; });
conn.events.on("resumed", (e) => { const n: number = e.flushed + e.gapMs; void n; });
conn.events.on("undelivered", (e) => { const m: Error = e.error; void m; });

// @ts-expect-error unknown event name
conn.events.on("reconnect", () => {});
// @ts-expect-error payload fields are typed
conn.events.on("state", (e) => { const n: number = e.to; void n; });
// @ts-expect-error migrated has no `serverId` field
conn.events.on("migrated", (e) => e.serverId);
// @ts-expect-error wrong payload on emit
conn.events.emit("draining", { deadline: 1 });
// @ts-expect-error not a state
const bad: ConnectionState = "Open";
void bad;
// @ts-expect-error options are typed
new GracefulConnection(new HubConnectionBuilder().withUrl("x").build(), { drainTimeoutMs: "25s" });
// @ts-expect-error onExit needs a function
conn.onExit("save");

conn.onResume(async (ctx) => {
  const r: "start" | "exit" | "dropped" | "migrated" = ctx.reason;
  const n: number = await ctx.invoke<number>("Echo", 1);
  // @ts-expect-error ctx.invoke's result type follows the type argument
  const s: string = await ctx.invoke<number>("Echo", 1);
  void r; void n; void s;
});
const unsubscribe: () => void = conn.onExit(async (signal) => { signal.signal.throwIfAborted(); });
unsubscribe();
const echoed: Promise<number> = conn.invoke<number>("Echo", 1);
void echoed;
const payload: GracefulEvents["exit"] = { serverId: "a", timeoutMs: 1 };
void payload;

// Delivery options, per-call time limits, retryNow, the closed reason for a server Close.
new GracefulConnection(new HubConnectionBuilder().withUrl("x").build(), { callTimeoutMs: Infinity, maxMessageBytes: 65_536, maxInterruptions: 2, deliveryIds: false, migrationWaitMs: 1_000 });
const timed: Promise<string> = conn.withTimeout(5_000).invoke<string>("Slow");
const sent: Promise<void> = conn.withTimeout(5_000).send("Chat", "hi");
const cut: boolean = conn.retryNow();
const counts: number = conn.inFlight + conn.buffered;
const id: string = conn.clientId;
void timed; void sent; void cut; void counts; void id;
conn.events.on("closed", (e) => {
  const r: "stop" | "startFailed" | "retriesExhausted" | "serverClosed" = e.reason;
  void r;
});
// @ts-expect-error deliveryIds is a boolean
new GracefulConnection(new HubConnectionBuilder().withUrl("x").build(), { deliveryIds: "yes" });

// The overlap handoff comes from its own entry point: the option takes only what overlap() returns.
const buildHub = () => new HubConnectionBuilder().withUrl("/chat").build();
new GracefulConnection(buildHub(), { overlap: overlap({ createConnection: buildHub, messageKey: (_m, args) => String(args[0]) }) });
// @ts-expect-error a plain options object is not a handoff
new GracefulConnection(buildHub(), { overlap: { createConnection: buildHub, messageKey: () => undefined } });
// @ts-expect-error messageKey returns a string or undefined
overlap({ createConnection: buildHub, messageKey: () => 1 });
