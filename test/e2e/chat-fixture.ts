// A chat app for end-to-end tests of the SDK: a hub whose history lives in a shared store
// (standing for the app's database), and a client that restores its state on resume the way
// a careful app does: re-join its room, fetch what it missed, de-duplicate by message id.
import { HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import type { SignalRVersion } from "./signalr-versions.js";
import { EventEmitter } from "node:events";
import { GracefulConnection, type GracefulConnectionOptions } from "../../src/index.js";
import { overlap as overlapHandoff } from "../../src/overlap.js";
import { Hub, type HubClass, type Migration } from "../../src/testing/index.js";

export interface ChatMessage {
  id: number;
  clientMsgId: string;
  user: string;
  seq: number;
  text: string;
  serverId: string;
}

export interface ServerEvent {
  serverId: string;
  what: "draft" | "left";
  connectionId: string;
  migration?: Migration | undefined;
}

/** The app's "database": messages with global increasing ids, plus what each server saw. */
export class ChatStore {
  readonly messages: ChatMessage[] = [];
  readonly byClientId = new Map<string, ChatMessage>();
  readonly serverLog: ServerEvent[] = [];
}

export function chatHub(store: ChatStore): HubClass {
  return class Chat extends Hub {
    /** Idempotent by clientMsgId: a re-send after an interruption is not a second message. */
    async sendMessage(clientMsgId: string, user: string, seq: number, text: string) {
      if (store.byClientId.has(clientMsgId)) return;
      const m: ChatMessage = { id: store.messages.length + 1, clientMsgId, user, seq, text, serverId: this.context.serverId };
      store.messages.push(m);
      store.byClientId.set(clientMsgId, m);
      await this.clients.all.send("message", m);
    }
    history(sinceId: number) {
      return store.messages.slice(sinceId);
    }
    async join(room: string) {
      await this.groups.add(this.context.connectionId, room);
    }
    async toRoom(room: string, text: string) {
      await this.clients.group(room).send("roomMessage", text);
    }
    saveDraft(_user: string, _text: string) {
      store.serverLog.push({ serverId: this.context.serverId, what: "draft", connectionId: this.context.connectionId });
      return true;
    }
    echo(x: unknown) {
      return x;
    }
    override onDisconnected() {
      store.serverLog.push({ serverId: this.context.serverId, what: "left", connectionId: this.context.connectionId, migration: this.context.migration });
    }
  };
}

export class ChatClient extends EventEmitter {
  readonly conn: GracefulConnection;
  /** Messages by id, once each, as the app shows them. */
  readonly shown = new Map<number, ChatMessage>();
  /** Deliveries before de-duplication (live + history). */
  rawDeliveries = 0;
  /** Ids that arrived as live broadcasts; the rest came only from History (sent while this client had no connection). */
  readonly liveIds = new Set<number>();

  get onlyFromHistory(): number {
    let n = 0;
    for (const id of this.shown.keys()) if (!this.liveIds.has(id)) n++;
    return n;
  }
  /** Every id up to this one has been shown: history is fetched from here. */
  contiguous = 0;
  seq = 0;
  /** Sequence numbers whose send() resolved. */
  readonly accepted: number[] = [];
  readonly sendErrors: Error[] = [];
  readonly invokes = { started: 0, resolved: 0, rejected: [] as Error[] };
  readonly connectionIds = new Set<string>();
  /** Every SDK event with its time, for diagnosing a failed run. */
  readonly history: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  /**
   * `app.overlap`: use the SDK's make-before-break handoff on exits (messages de-duplicated by id).
   * `app.fetchHistory: false`: onResume does not fetch what was missed (default true).
   * `app.signalr`: the @microsoft/signalr major to build the HubConnection with (default 10).
   */
  constructor(
    url: string,
    readonly user: string,
    readonly room: string,
    options: GracefulConnectionOptions = {},
    app: { overlap?: boolean; fetchHistory?: boolean; signalr?: SignalRVersion; configure?: (b: HubConnectionBuilder) => HubConnectionBuilder } = {},
  ) {
    super();
    const Builder = app.signalr?.HubConnectionBuilder ?? HubConnectionBuilder;
    const Level = app.signalr?.LogLevel ?? LogLevel;
    // `app.configure`: transport, hub protocol, stateful reconnect… (withUrl already called).
    const build = () => (app.configure ?? ((b) => b))(new Builder().withUrl(url).configureLogging(Level.None) as HubConnectionBuilder).build();
    const overlap: GracefulConnectionOptions = app.overlap
      ? { overlap: overlapHandoff({ createConnection: build, messageKey: (method, args) => (method === "message" ? String((args[0] as ChatMessage).id) : undefined) }) }
      : {};
    this.conn = new GracefulConnection(build(), { drainTimeoutMs: 2_000, retryableMethods: ["SendMessage"], ...overlap, ...options });
    this.conn.on("message", (m: ChatMessage) => {
      this.liveIds.add(m.id);
      this.show(m);
    });
    const t0 = Date.now();
    this.conn.events.on("*", (type, e) => this.history.push(`${Date.now() - t0}ms ${String(type)} ${JSON.stringify(e, (_k, v) => (v instanceof Error ? v.message : v))}`));
    this.conn.onExit(async () => {
      await this.conn.invoke("SaveDraft", this.user, `draft of ${this.user}`);
    });
    this.conn.onResume(async (ctx) => {
      if (ctx.connectionId) this.connectionIds.add(ctx.connectionId);
      await ctx.invoke("Join", this.room);
      if (app.fetchHistory === false) return;
      const missed = (await ctx.invoke("History", this.contiguous)) as ChatMessage[];
      for (const m of missed) this.show(m);
    });
  }

  /**
   * What an app does now and then (or on its next resume): fetch what it missed. After a
   * crash, broadcasts the dead server never got out reach healthy clients only this way.
   * Returns how many messages were new.
   */
  async catchUp(): Promise<number> {
    const missed = (await this.conn.invoke("History", this.contiguous)) as ChatMessage[];
    return missed.filter((m) => this.show(m)).length;
  }

  /** Shows a message once; true when it was new. */
  private show(m: ChatMessage): boolean {
    this.rawDeliveries++;
    if (this.shown.has(m.id)) return false;
    this.shown.set(m.id, m);
    while (this.shown.has(this.contiguous + 1)) this.contiguous++;
    this.emit("shown", m);
    return true;
  }

  /** Sends a message every `everyMs`, and an Echo invocation every fifth tick. */
  startChatting(everyMs: number): void {
    this.timer = setInterval(() => {
      const seq = ++this.seq;
      this.conn
        .send("SendMessage", `${this.user}#${seq}`, this.user, seq, `hello ${seq}`)
        .then(() => this.accepted.push(seq), (e: Error) => this.sendErrors.push(e))
        .then(() => this.emit("settled"));
      if (seq % 5 === 0) {
        this.invokes.started++;
        this.conn
          .invoke("Echo", seq)
          .then(() => this.invokes.resolved++, (e: Error) => this.invokes.rejected.push(e))
          .then(() => this.emit("settled"));
      }
    }, everyMs);
  }

  stopChatting(): void {
    clearInterval(this.timer);
  }

  get pendingInvokes(): number {
    return this.invokes.started - this.invokes.resolved - this.invokes.rejected.length;
  }
}

/** Resolves once `cond()` holds, re-checking on each of the given emitters' events; rejects after `ms`. */
/** Stops every client's chat loop and its connection; for a test's teardown. */
export async function stopClients(clients: readonly ChatClient[]): Promise<void> {
  for (const c of clients) c.stopChatting();
  await Promise.allSettled(clients.map((c) => c.conn.stop()));
}

export function until(cond: () => boolean, emitters: { on: Function; off: Function; name: string }[], ms: number, what: string, detail?: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (cond()) return resolve();
    const check = () => {
      if (!cond()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Timed out after ${ms} ms waiting for: ${what}${detail ? ` (${detail()})` : ""}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(timer);
      for (const e of emitters) e.off(e.name, check);
    };
    for (const e of emitters) e.on(e.name, check);
  });
}

/** Re-check points: one SDK event of every client. */
export const sdkEvents = (clients: ChatClient[], name: string) => clients.map((c) => ({ on: c.conn.events.on, off: c.conn.events.off, name }));
/** Re-check points: one ChatClient event ("shown", "settled") of every client. */
export const chatEvents = (clients: ChatClient[], name: string) => clients.map((c) => ({ on: c.on.bind(c), off: c.off.bind(c), name }));

/** Every client connected, on a server that is still running, its buffer flushed. */
export function allBack(clients: ChatClient[], servers: () => readonly { id: string; isRunning: boolean }[], ms = 10_000): Promise<void> {
  const running = () => new Set(servers().filter((s) => s.isRunning).map((s) => s.id));
  return until(
    () => clients.every((c) => c.conn.state === "Connected" && running().has(c.conn.serverId ?? "")),
    [...sdkEvents(clients, "state"), ...sdkEvents(clients, "server"), ...sdkEvents(clients, "resumed")],
    ms,
    "every client back on a running server",
    () => clients.map((c) => `${c.user}:${c.conn.state}@${c.conn.serverId}` + (c.conn.state !== "Connected" ? `\n  ${c.history.slice(-12).join("\n  ")}\n` : "")).join(" "),
  );
}

/**
 * The server a connection is on, once its hello arrived. start() resolves without waiting for it
 * (the hello often comes a moment after the resume), so a test that sorts clients by server waits here.
 */
export function helloFrom(conn: GracefulConnection): Promise<string> {
  if (conn.serverId !== undefined) return Promise.resolve(conn.serverId);
  return new Promise((resolve) => conn.events.on("server", (e) => resolve(e.serverId)));
}
