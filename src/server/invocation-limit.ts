// At most N hub invocations of one client at a time (ASP.NET Core's
// MaximumParallelInvocationsPerClient, default 1). The connection's reader awaits a slot
// before it reads on, so a client that floods calls is paused, not queued without bound.

export interface Slot {
  /** Gives the slot back; idempotent (a hub method awaiting a client result frees it early). */
  release(): void;
}

export class InvocationLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  /** Resolves with a slot once fewer than `max` invocations run. */
  acquire(): Promise<Slot> {
    if (this.active < this.max) return Promise.resolve(this.grant());
    return new Promise((resolve) => this.waiting.push(() => resolve(this.grant())));
  }

  /** Forgets every waiter (the connection is gone; nothing more runs). */
  clear(): void {
    this.waiting.length = 0;
  }

  private grant(): Slot {
    this.active++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.active--;
        this.waiting.shift()?.();
      },
    };
  }
}
