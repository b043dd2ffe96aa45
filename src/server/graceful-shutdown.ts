// Graceful-shutdown hooks and the report of one shutdown. The sequence itself (FIN,
// hooks, wait, close) is driven by MiniServer, which owns the links it needs.
import { GracefulShutdownMode } from "../protocol/shutdown-mode.js";
import type { HubContext } from "./hub.js";

export interface GracefulShutdownOptions {
  /** Default `Off`, as in the real server SDK. */
  mode?: GracefulShutdownMode;
  /** One budget for the whole sequence (default 30 000 ms). */
  timeoutMs?: number;
  /**
   * In WaitForClientsClose, broadcast the exit convention (`exit` with `{ serverId, timeoutMs, mode }`)
   * as each hub's first hook. Default true; set false when your own hook sends it.
   */
  announceExit?: boolean;
  /** Client method name of that broadcast (default "exit"). */
  exitMethod?: string;
}

export type ShutdownHook = (hub: HubContext) => void | Promise<void>;

export interface HookRun {
  hub: string;
  /** Position in the hub's registration order (0-based). */
  index: number;
  name: string;
  /** Milliseconds from the start of the shutdown. */
  startedAtMs: number;
  endedAtMs: number;
  error?: string;
}

export interface ShutdownReport {
  mode: GracefulShutdownMode;
  modeName: keyof typeof GracefulShutdownMode;
  serverId: string;
  /** Client connections the server had when the shutdown began. */
  clientsAtStart: number;
  /** Every hook, in the order it started. */
  hooks: HookRun[];
  /** Clients that closed by themselves during the wait. */
  closedByClients: number;
  /** Clients the service moved to another server. */
  migrated: number;
  /** Clients still here when the server links closed (the service drops them). */
  dropped: number;
  /** The budget ran out before every client was gone. */
  timedOut: boolean;
  /** Milliseconds until FINACK from every link. */
  finAckMs: number;
  durationMs: number;
}

/** Shutdown hooks keyed by hub: within a hub they run in registration order, hubs in parallel. */
export class ShutdownHooks {
  private readonly hooks = new Map<string, { name: string; fn: ShutdownHook }[]>();

  constructor(private readonly knownHubs: () => string[]) {}

  add(hub: string, hook: ShutdownHook, name?: string): () => void {
    if (typeof hook !== "function") throw new TypeError("A shutdown hook must be a function.");
    if (!this.knownHubs().includes(hub)) throw new RangeError(`No hub named '${hub}' on this server (hubs: ${this.knownHubs().join(", ")}).`);
    const list = this.hooks.get(hub) ?? [];
    const entry = { name: name ?? hook.name ?? `hook${list.length}`, fn: hook };
    list.push(entry);
    this.hooks.set(hub, list);
    return () => {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Runs every hub's hooks; resolves when all are done or `deadline` (epoch ms) passes. */
  async run(contexts: Map<string, HubContext>, startedAt: number, deadline: number, first?: { name: string; fn: ShutdownHook }): Promise<HookRun[]> {
    const runs: HookRun[] = [];
    const perHub = [...contexts.entries()].map(async ([hub, ctx]) => {
      const list = [...(first ? [first] : []), ...(this.hooks.get(hub) ?? [])];
      for (let index = 0; index < list.length; index++) {
        if (Date.now() >= deadline) return;
        const h = list[index]!;
        const run: HookRun = { hub, index, name: h.name || `hook${index}`, startedAtMs: Date.now() - startedAt, endedAtMs: 0 };
        runs.push(run);
        try {
          await h.fn(ctx);
        } catch (e) {
          run.error = (e as Error)?.message ?? String(e);
        }
        run.endedAtMs = Date.now() - startedAt;
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(perHub), new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
    return runs;
  }
}
