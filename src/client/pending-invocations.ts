// In-flight invocations: our own bookkeeping around hub.invoke, so that an invocation whose
// connection closed or moved can be re-sent (retryable) or rejected (InvocationInterruptedError),
// and so that a drain can wait for the in-flight ones to settle.

export interface Invocation {
  readonly seq: number;
  readonly method: string;
  readonly args: readonly unknown[];
  readonly retryable: boolean;
  /** Settles the caller's promise (once; later calls are ignored). */
  resolve(value: unknown): void;
  reject(error: Error): void;
  settled: boolean;
  /** Number of times it was handed to a connection. */
  attempts: number;
  /** Attempts whose outcome we still care about (first completion wins). */
  live: Set<number>;
  /** Connection generation of the latest attempt. */
  gen: number;
  graceTimer?: ReturnType<typeof setTimeout>;
}

export function createInvocation(seq: number, method: string, args: readonly unknown[], retryable: boolean): { invocation: Invocation; promise: Promise<unknown> } {
  let res!: (v: unknown) => void;
  let rej!: (e: Error) => void;
  const promise = new Promise<unknown>((a, b) => { res = a; rej = b; });
  const invocation: Invocation = {
    seq, method, args, retryable, settled: false, attempts: 0, live: new Set(), gen: -1,
    resolve(v) { if (!invocation.settled) { invocation.settled = true; res(v); } },
    reject(e) { if (!invocation.settled) { invocation.settled = true; rej(e); } },
  };
  return { invocation, promise };
}

export class PendingInvocations {
  private readonly entries = new Set<Invocation>();
  private idleWaiters: Array<() => void> = [];

  get size(): number { return this.entries.size; }

  add(inv: Invocation): void { this.entries.add(inv); }

  /** Forget an invocation (settled or handed elsewhere); stops its grace timer and its live attempts. */
  delete(inv: Invocation): void {
    inv.live.clear();
    if (inv.graceTimer !== undefined) { clearTimeout(inv.graceTimer); inv.graceTimer = undefined; }
    this.entries.delete(inv);
    if (this.entries.size === 0 && this.idleWaiters.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** The in-flight invocations of one connection generation, oldest first. */
  ofGeneration(gen: number): Invocation[] {
    return [...this.entries].filter((i) => i.gen === gen).sort((a, b) => a.seq - b.seq);
  }

  /** Resolves when nothing is in flight. */
  whenEmpty(): Promise<void> {
    return this.entries.size === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  rejectAll(error: Error): void {
    for (const inv of [...this.entries]) {
      this.delete(inv);
      inv.reject(error);
    }
  }
}
