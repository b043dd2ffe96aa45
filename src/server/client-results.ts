// Client results: a hub awaiting a value from one client's method (.NET 7+
// `Clients.Client(id).InvokeAsync`). The server sends an Invocation with an id and the
// client answers with a Completion. Pending calls live here, each with its timeout.

/** The client did not answer in time, answered with an error, or went away. */
export class ClientResultError extends Error {
  override name = "ClientResultError";
  constructor(message: string, readonly reason: "timeout" | "error" | "disconnected") {
    super(message);
  }
}

interface Pending {
  method: string;
  resolve(value: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ClientResults {
  private next = 1;
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly connectionId: string, private readonly timeoutMs: number) {}

  /** A fresh invocation id (prefixed "s" like .NET's) and the promise of its answer. */
  create(method: string): { invocationId: string; result: Promise<unknown> } {
    const invocationId = `s${this.next++}`;
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(invocationId);
        reject(new ClientResultError(`Client '${this.connectionId}' did not answer '${method}' within ${this.timeoutMs} ms.`, "timeout"));
      }, this.timeoutMs);
      this.pending.set(invocationId, { method, resolve, reject, timer });
    });
    return { invocationId, result };
  }

  /** True when the id was a pending client result (then it is settled). */
  complete(invocationId: string, outcome: { result?: unknown; error?: string }): boolean {
    const p = this.pending.get(invocationId);
    if (!p) return false;
    this.pending.delete(invocationId);
    clearTimeout(p.timer);
    if (outcome.error !== undefined) p.reject(new ClientResultError(outcome.error, "error"));
    else p.resolve(outcome.result ?? null);
    return true;
  }

  /** The connection closed: every pending call fails, as .NET's "Connection '…' disconnected.". */
  rejectAll(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new ClientResultError(`Connection '${this.connectionId}' disconnected.`, "disconnected"));
    }
    this.pending.clear();
  }

  /** The server died: nothing settles (a crash runs no more hub code), timers are freed. */
  forget(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}
