// De-duplication of inbound client-method calls while two connections overlap (the `overlap`
// option's make-before-break handoff): both connections receive the same broadcasts for a moment,
// and each app message must reach the app's handlers once. Keys come from the app
// (`messageKey(method, args)`); recent ones are kept, bounded in number and in time.
//
// Each app handler is registered on the HubConnection on its own, so one inbound call reaches the
// filter once per handler. The filter decides once per call: a handler that has not yet seen the
// current call's key shares that call's verdict; one that has is looking at a new call.

export type MessageKey = (method: string, args: unknown[]) => string | undefined;

interface CurrentCall {
  key: string;
  deliver: boolean;
  handlers: Set<unknown>;
}

export class DuplicateFilter {
  /** Composite key (method + app key) → when it was first seen; insertion order = age order. */
  private readonly seen = new Map<string, number>();
  /** Keys are recorded and checked until this time (epoch ms); Infinity while both connections are up. */
  private openUntil = -Infinity;
  private current: CurrentCall | undefined;

  constructor(
    private readonly messageKey: MessageKey,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** Both connections are (about to be) up: record and check every keyed call from now on. */
  open(): void {
    this.openUntil = Infinity;
  }

  /** The old connection is gone: keep checking for `windowMs` more (late copies still in flight). */
  closeAfterWindow(): void {
    this.openUntil = Date.now() + this.windowMs;
  }

  /** No overlap any more (stop, or the handoff failed): forget everything at once. */
  reset(): void {
    this.openUntil = -Infinity;
    this.seen.clear();
    this.current = undefined;
  }

  /**
   * true when this call of `handler` is a copy of a call already delivered. `onDuplicate` runs once
   * per dropped call (not once per handler). A throwing `messageKey` counts as "no key" (delivered).
   */
  drops(method: string, args: unknown[], handler: unknown, onDuplicate: (method: string, key: string) => void, onKeyError: (e: unknown) => void): boolean {
    if (this.openUntil === -Infinity) return false;
    const now = Date.now();
    if (now > this.openUntil) {
      this.reset();
      return false;
    }
    let appKey: string | undefined;
    try {
      appKey = this.messageKey(method, args);
    } catch (e) {
      onKeyError(e);
      return false;
    }
    if (appKey === undefined || appKey === null) return false;
    const key = `${method.toLowerCase()}\u0000${String(appKey)}`;
    const c = this.current;
    if (c && c.key === key && !c.handlers.has(handler)) {
      c.handlers.add(handler); // another handler of the same call
      return !c.deliver;
    }
    const deliver = !this.seen.has(key);
    if (deliver) {
      this.prune(now);
      this.seen.set(key, now);
    }
    this.current = { key, deliver, handlers: new Set([handler]) };
    if (!deliver) onDuplicate(method, String(appKey));
    return !deliver;
  }

  /** Number of keys held (for tests). */
  get size(): number { return this.seen.size; }

  private prune(now: number): void {
    for (const [key, at] of this.seen) {
      if (this.seen.size < this.maxKeys && now - at <= this.windowMs) break;
      this.seen.delete(key);
    }
  }
}
