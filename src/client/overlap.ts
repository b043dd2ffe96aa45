// The make-before-break handoff on an exit (WaitForClientsClose): a new connection is started and
// resumed (onResume, then the buffer flushed on it) while the old one still receives; only then is
// the old one stopped. Inbound calls from both are de-duplicated meanwhile (duplicate-filter.ts).
// App calls made since the drain ended are buffered (as without it) and go to the new connection.
// If the new connection cannot be built or started: the path without it (stop the old one,
// reconnect it by the policy). Lives in its own entry point, "signalr-graceful/overlap".
import { DuplicateFilter, type MessageKey } from "./duplicate-filter";
import { describe, toError } from "./errors";
import type { Handoff, HandoffFactory, HandoffHost } from "./handoff";
import { assertHubLike, type HubLike } from "./hub-like";
import { timeout } from "./options";
import { DEV, code } from "./text";

export interface OverlapOptions {
  /** Builds a fresh HubConnection to the same URL (the old one's server is offline, so it lands elsewhere). */
  createConnection: () => HubLike;
  /**
   * A stable id for an inbound client-method call (e.g. the message id), used to drop the copy that
   * arrives on the other connection while both are up. `undefined` = never de-duplicate that call.
   */
  messageKey: MessageKey;
  /** How long after the old connection is stopped keys are still checked. Default 10 000. */
  windowMs?: number;
  /** Bound on the keys held. Default 10 000. */
  maxKeys?: number;
}

/** The `overlap` option's value: `new GracefulConnection(hub, { overlap: overlap({ createConnection, messageKey }) })`. Validated here, up front. */
export function overlap(o: OverlapOptions): HandoffFactory {
  if (typeof o !== "object" || o === null) throw new TypeError(DEV ? "overlap() needs an options object." : code(23));
  if (typeof o.createConnection !== "function") throw new TypeError(DEV ? "overlap.createConnection must be a function." : code(14, "overlap.createConnection", "function"));
  if (typeof o.messageKey !== "function") throw new TypeError(DEV ? "overlap.messageKey must be a function." : code(14, "overlap.messageKey", "function"));
  const maxKeys = o.maxKeys ?? 10_000;
  if (typeof maxKeys !== "number") throw new TypeError(DEV ? "overlap.maxKeys must be a number." : code(11, "overlap.maxKeys", maxKeys));
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(DEV ? `overlap.maxKeys must be an integer ≥ 1 (got ${maxKeys}).` : code(13, "overlap.maxKeys", 1, maxKeys));
  const windowMs = timeout("overlap.windowMs", o.windowMs, 10_000);
  return (host) => new OverlapHandoff(host, o.createConnection, new DuplicateFilter(o.messageKey, windowMs, maxKeys));
}

class OverlapHandoff implements Handoff {
  /** The new connection while it starts (before it becomes the host's)… */
  incoming: HubLike | undefined;
  /** …and the old one while it is being stopped (after). Its close is never taken as a drop. */
  private retiring: HubLike | undefined;

  constructor(private readonly host: HandoffHost, private readonly create: () => HubLike, private readonly dedup: DuplicateFilter) {}

  others(): HubLike[] {
    const hubs: HubLike[] = [];
    if (this.incoming) hubs.push(this.incoming);
    if (this.retiring) hubs.push(this.retiring);
    return hubs;
  }

  drops(method: string, args: unknown[], handler: unknown): boolean {
    return this.dedup.drops(method, args, handler, this.onDuplicate, this.onKeyError);
  }

  private readonly onDuplicate = (method: string, key: string): void => this.host.emit("duplicateDropped", { method, key });
  private readonly onKeyError = (e: unknown): void => this.host.report("messageKey", e);

  abandon(): HubLike | undefined {
    const other = this.incoming ?? this.retiring;
    this.incoming = this.retiring = undefined;
    this.dedup.reset();
    return other;
  }

  async run(signal: AbortSignal, previousConnectionId: string | undefined): Promise<void> {
    const host = this.host;
    const old = host.hub;
    this.dedup.open();
    host.emit("reconnecting", { reason: "exit", attempt: 1, delayMs: 0, source: "graceful", handoff: true });
    if (signal.aborted) return;
    let next: HubLike | undefined;
    try {
      const created: unknown = this.create();
      assertHubLike(created);
      if (created === old) throw new TypeError(DEV ? "overlap.createConnection must build a new connection." : code(24));
      next = this.incoming = created;
      host.attach(next);
      await next.start();
    } catch (e) {
      if (next) {
        host.detach(next);
        if (this.incoming === next) this.incoming = undefined;
      }
      if (signal.aborted) return; // stop() stopped it
      this.dedup.reset();
      const error = toError(e);
      host.warn(describe(error)); // SG24: the handoff failed; reconnecting
      await host.stop(old);
      if (!signal.aborted) await host.reconnect(signal, error, previousConnectionId);
      return;
    }
    if (signal.aborted) return; // stop() stops both
    // The switch: from here app calls, invocations and close callbacks concern the new connection.
    this.incoming = undefined;
    this.retiring = old;
    host.adopt(next);
    host.emit("reconnected", { reason: "exit", connectionId: next.connectionId ?? undefined, attempt: 1, source: "graceful", handoff: true });
    if (!signal.aborted) await host.resume(signal, previousConnectionId);
    // Resumed, superseded by a drop of the new connection, or a later exit: the old one goes either way
    // (unless stop() already took it).
    if (this.retiring !== old) return;
    await host.stop(old);
    host.detach(old);
    if (this.retiring === old) {
      this.retiring = undefined;
      this.dedup.closeAfterWindow();
    }
  }
}
