// Client results through the service ("client invocations"), as the real server SDK expects:
// the caller server sends ClientInvocation; the service delivers the hub invocation to the
// client and tells the server that owns the connection (a ClientInvocation of its own, so that
// server's SDK routes the client's completion back); the owner answers with ClientCompletion or
// ErrorCompletion naming the caller, and the service hands it to the caller's server. A client
// that leaves with invocations pending gets them answered with ErrorCompletion.

export interface PendingInvocation {
  invocationId: string;
  connectionId: string;
  hub: string;
  callerServerId: string;
}

export class ClientInvocations {
  private readonly byId = new Map<string, PendingInvocation>();

  constructor(private readonly limit = 10_000) {}

  /** False when the table is full: the caller gets an error instead of an unbounded table. */
  add(p: PendingInvocation): boolean {
    if (this.byId.size >= this.limit) return false;
    this.byId.set(`${p.hub}\u0000${p.invocationId}`, p);
    return true;
  }

  take(hub: string, invocationId: string): PendingInvocation | undefined {
    const key = `${hub}\u0000${invocationId}`;
    const p = this.byId.get(key);
    this.byId.delete(key);
    return p;
  }

  /** Removes and returns every invocation pending on the connection. */
  takeAllFor(hub: string, connectionId: string): PendingInvocation[] {
    const out: PendingInvocation[] = [];
    for (const [k, p] of this.byId) if (p.hub === hub && p.connectionId === connectionId) (out.push(p), this.byId.delete(k));
    return out;
  }

  get size(): number {
    return this.byId.size;
  }
}
