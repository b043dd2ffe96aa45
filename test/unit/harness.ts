// Shared set-up for the unit tests: a GracefulConnection over a FakeHubConnection, with every event
// and every hub call written to one ordered log (asserted whole with toEqual).
import { vi } from "vitest";
import type { ILogger, LogLevel } from "@microsoft/signalr";
import { GracefulConnection, type GracefulConnectionOptions, type GracefulEvents } from "../../src/index";
import { FakeHubConnection } from "./fake-hub-connection";

export function describeEvent(type: keyof GracefulEvents | string, e: any): string {
  switch (type) {
    case "state": return `state ${e.to}`;
    case "exit": return `exit ${e.serverId ?? "-"}${e.timeoutMs !== undefined ? ` ${e.timeoutMs}ms` : ""}`;
    case "exitIgnored": return `exitIgnored ${e.reason} ${e.serverId ?? "-"}`;
    case "draining": return `draining ${e.deadlineMs}ms`;
    case "reconnecting": return (e.source === "hub" ? `reconnecting ${e.reason} (hub)` : `reconnecting ${e.reason} #${e.attempt} in ${e.delayMs}ms`) + (e.handoff ? " (handoff)" : "");
    case "reconnected": return `reconnected ${e.reason} ${e.connectionId}${e.source === "hub" ? " (hub)" : ""}${e.handoff ? " (handoff)" : ""}`;
    case "migrated": return `migrated ${e.from}->${e.to} ${e.connectionId}`;
    case "resumed": return `resumed ${e.reason} ${e.connectionId} flushed=${e.flushed}${e.handoff ? ` (handoff, gap ${e.gapMs}ms)` : ""}`;
    case "duplicateDropped": return `duplicateDropped ${e.method} ${e.key}`;
    case "closed": return `closed ${e.reason}`;
    case "server": return `server ${e.serverId}`;
    case "undelivered": return `undelivered ${e.method} ${e.error.name}`;
    case "retry": return `retry ${e.method} ${e.reason} #${e.attempt}`;
    case "error": return `error ${e.source}`;
    default: return `${String(type)} ?`;
  }
}

export interface Harness {
  hub: FakeHubConnection;
  conn: GracefulConnection;
  /** Events and hub calls, in order. */
  log: string[];
  /** What went through the logger, level ≥ Warning. */
  warnings: string[];
}

/**
 * Defaults for the tests: delivery markers off (the delivery tests turn them on, and assert them), and a
 * server that answers "Chat" at once (a send's receipt).
 */
export function setup(options: GracefulConnectionOptions = {}, hubOptions: { automaticReconnect?: boolean } = {}): Harness {
  const log: string[] = [];
  const warnings: string[] = [];
  const hub = new FakeHubConnection(log, hubOptions);
  hub.autoComplete = (m) => m === "Chat";
  const logger: ILogger = { log: (level: LogLevel, message: string) => { if (level >= 3) warnings.push(message); } };
  const conn = new GracefulConnection(hub, { logger, random: () => 0.5, deliveryIds: false, ...options });
  conn.events.on("*", (type, e) => log.push(describeEvent(type, e)));
  return { hub, conn, log, warnings };
}

/** Lets fake time pass (and every promise continuation run). */
export const tick = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** Starts and clears the log. */
export async function started(h: Harness, serverId?: string): Promise<void> {
  const p = h.conn.start();
  await tick();
  await p;
  if (serverId) h.hub.deliver("graceful.hello", { serverId });
  h.log.length = 0;
}

/** Records how a promise settles, into the log, without unhandled rejections. */
export function track(log: string[], label: string, p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => { log.push(`${label} resolved${v === undefined ? "" : ` ${String(v)}`}`); return v; },
    (e: Error) => { log.push(`${label} rejected ${e.name}${"reason" in e ? ` ${(e as any).reason}` : ""}`); return e; },
  );
}
