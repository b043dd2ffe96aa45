// Cancellable timers. stop() cancels them all: each pending one resolves `false` at once,
// so the flow awaiting it ends instead of hanging on a timer.

export interface Timer {
  /** true when the time ran out, false when cleared or cancelled. */
  readonly fired: Promise<boolean>;
  clear(): void;
  /** Ends the wait now, as if the time had run out. */
  fire(): void;
}

export class TimerSet {
  private readonly pending = new Map<ReturnType<typeof setTimeout>, (fired: boolean) => void>();

  timer(ms: number): Timer {
    let id!: ReturnType<typeof setTimeout>;
    const fired = new Promise<boolean>((resolve) => {
      id = setTimeout(() => { this.pending.delete(id); resolve(true); }, ms);
      this.pending.set(id, resolve);
    });
    const end = (outcome: boolean) => {
      const resolve = this.pending.get(id);
      if (!resolve) return;
      clearTimeout(id);
      this.pending.delete(id);
      resolve(outcome);
    };
    return { fired, clear: () => end(false), fire: () => end(true) };
  }

  sleep(ms: number): Promise<boolean> { return this.timer(ms).fired; }

  cancelAll(): void {
    for (const [id, resolve] of this.pending) { clearTimeout(id); resolve(false); }
    this.pending.clear();
  }
}
