// GracefulConnection clients (default options) that time their own exit gap: from the old
// connection's close (Draining → Reconnecting) to `resumed` on the new one, from the SDK's events,
// with the start broken down by the @microsoft/signalr client's own Trace messages (timestamped
// as they are logged). The same code runs in the bench process or in a child (gap-child.ts).
import { HubConnectionBuilder, LogLevel, type ILogger } from "@microsoft/signalr";
import { GracefulConnection } from "../../src/index.js";
import { NodeHttpClient } from "./node-http-client.js";

/** One client's exit gap and its parts, ms. The parts add up to the total. */
export interface GapSample {
  totalMs: number;
  /** The old connection closed (Draining → Reconnecting until the reconnect begins). */
  stopMs: number;
  /** Negotiate at the app server: its answer is the redirect to the service and a token. */
  negotiateAppMs: number;
  /** Negotiate at the service: a connection id. */
  negotiateServiceMs: number;
  /** WebSocket upgrade at the service. */
  connectMs: number;
  /** Handshake sent → the app server's answer, through the service. */
  handshakeMs: number;
  /** The rest of start(): before the first negotiate and after the handshake answer, until `reconnected`. */
  startOtherMs: number;
  /** `reconnected` → `resumed` (onResume handlers, the flush). */
  resumeMs: number;
  /** The server's hello after `resumed` (not part of the gap; negative: it came first). */
  helloAfterMs: number | null;
}

/** The client's Trace messages that mark the steps of start(), in order. */
const MARKS = [
  ["neg1", "Sending negotiation request: "],
  ["neg2", "Sending negotiation request: "],
  ["transport", "Selecting transport "],
  ["ws", "WebSocket connected to "],
  ["hsSent", "Sending handshake request."],
  ["hsDone", "Server handshake complete."],
] as const;
type Mark = (typeof MARKS)[number][0];

export class GapClients {
  readonly samples: GapSample[] = [];
  /** Called with each new sample. */
  onSample: ((s: GapSample) => void) | undefined;
  private readonly conns: GracefulConnection[] = [];

  private constructor() {}

  /** `nodeHttp`: the client's HTTP on node:http (node-http-client.ts) rather than its default fetch. */
  static async start(url: string, n: number, nodeHttp = false): Promise<GapClients> {
    const g = new GapClients();
    for (let i = 0; i < n; i++) g.conns.push(g.client(url, nodeHttp));
    // A few at a time, as the other sections start theirs: the initial starts are not measured.
    for (let i = 0; i < n; i += 10) await Promise.all(g.conns.slice(i, i + 10).map((c) => c.start()));
    return g;
  }

  async stop(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.stop().catch(() => {})));
  }

  private client(url: string, nodeHttp: boolean): GracefulConnection {
    // Recording only while an exit is under way; the log calls are made anyway, whatever the level.
    let t: { down: number; stopped?: number; up?: number; resumed?: number; hello?: number; marks: Partial<Record<Mark, number>>; next: number } | undefined;
    const logger: ILogger = {
      log: (_level, message) => {
        if (!t || t.next >= MARKS.length) return;
        const [mark, prefix] = MARKS[t.next]!;
        if (message.startsWith(prefix)) {
          t.marks[mark] = performance.now();
          t.next++;
        }
      },
    };
    const hub = new HubConnectionBuilder()
      .withUrl(url, nodeHttp ? { httpClient: new NodeHttpClient() } : {})
      .configureLogging(logger)
      .build();
    const conn = new GracefulConnection(hub, { logger: { log: () => {} } });
    conn.events.on("state", ({ from, to }) => {
      if (from === "Draining" && to === "Reconnecting") t = { down: performance.now(), marks: {}, next: 0 };
    });
    conn.events.on("reconnecting", (e) => {
      if (t && e.reason === "exit" && t.stopped === undefined) t.stopped = performance.now();
    });
    conn.events.on("reconnected", (e) => {
      if (t && e.reason === "exit") t.up = performance.now();
    });
    const finish = () => {
      if (!t || t.resumed === undefined || t.hello === undefined) return;
      this.record(t.down, t.stopped ?? t.down, t.marks, t.up ?? t.resumed, t.resumed, t.hello);
      t = undefined;
    };
    conn.events.on("server", () => {
      if (!t) return;
      t.hello = performance.now();
      finish();
    });
    conn.events.on("resumed", (e) => {
      if (!t || e.reason !== "exit") return;
      t.resumed = performance.now();
      // The hello may have come before `resumed`, or come later; without one within 1 s, record anyway.
      const exit = t;
      if (exit.hello === undefined)
        setTimeout(() => {
          if (t !== exit) return;
          exit.hello ??= NaN;
          finish();
        }, 1_000).unref();
      finish();
    });
    return conn;
  }

  private record(down: number, stopped: number, m: Partial<Record<Mark, number>>, up: number, resumed: number, hello: number): void {
    // A missing mark (another transport, another client version) gives that part 0 and the rest to "other".
    const at = (k: Mark, fallback: number) => m[k] ?? fallback;
    const neg1 = at("neg1", stopped), neg2 = at("neg2", neg1), transport = at("transport", neg2), ws = at("ws", transport), hsSent = at("hsSent", ws), hsDone = at("hsDone", hsSent);
    const sample: GapSample = {
      totalMs: resumed - down,
      stopMs: stopped - down,
      negotiateAppMs: neg2 - neg1,
      negotiateServiceMs: transport - neg2,
      connectMs: ws - transport,
      handshakeMs: hsDone - hsSent,
      startOtherMs: neg1 - stopped + (hsSent - ws) + (up - hsDone),
      resumeMs: resumed - up,
      helloAfterMs: Number.isNaN(hello) ? null : hello - resumed,
    };
    this.samples.push(sample);
    this.onSample?.(sample);
  }
}
