// Client results: a hub awaiting a value from one client's method (.NET 7+
// `Clients.Client(id).InvokeAsync`). The server sends an Invocation with an id and the
// client answers with a Completion. Pending calls live here, each with its timeout; the
// answers that travel between servers through the service are encoded here too.
import { hubProtocol, type HubProtocol } from "../protocol/hub-protocol.js";
import { MessageType, type CompletionMessage } from "../protocol/json-hub-protocol.js";

/** The client did not answer in time, answered with an error, or went away. */
export class ClientResultError extends Error {
  override name = "ClientResultError";
  constructor(message: string, readonly reason: "timeout" | "error" | "disconnected") {
    super(message);
  }
}

interface Pending {
  method: string;
  connectionId: string;
  resolve(value: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ClientResults {
  private next = 1;
  private readonly pending = new Map<string, Pending>();

  /**
   * @param prefix of the invocation ids (.NET's are "s<n>"); ids going through the service
   *   must be unique across servers, so those carry the server id too.
   */
  constructor(private readonly prefix: string, private readonly timeoutMs: number) {}

  /** A fresh invocation id; nothing is pending until `wait()`. */
  nextId(): string {
    return `${this.prefix}${this.next++}`;
  }

  /** The promise of `connectionId`'s answer to `invocationId`, bounded by the timeout. */
  wait(invocationId: string, method: string, connectionId: string): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(invocationId);
        reject(new ClientResultError(`Client '${connectionId}' did not answer '${method}' within ${this.timeoutMs} ms.`, "timeout"));
      }, this.timeoutMs);
      this.pending.set(invocationId, { method, connectionId, resolve, reject, timer });
    });
  }

  /** True when the id was a pending client result (then it is settled). */
  complete(invocationId: string, outcome: { result?: unknown; error?: string; disconnected?: boolean }): boolean {
    const p = this.pending.get(invocationId);
    if (!p) return false;
    this.pending.delete(invocationId);
    clearTimeout(p.timer);
    if (outcome.disconnected) p.reject(new ClientResultError(`Connection '${p.connectionId}' disconnected.`, "disconnected"));
    else if (outcome.error !== undefined) p.reject(new ClientResultError(outcome.error, "error"));
    else p.resolve(outcome.result ?? null);
    return true;
  }

  /** The server died: nothing settles (a crash runs no more hub code), timers are freed. */
  forget(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

/**
 * A ClientCompletion's payload, as the real SDK sends it: the client's Completion in the
 * client's own hub protocol, framed. Undefined when it cannot be written (or was unreadable).
 */
export function completionPayload(protocol: HubProtocol, c: CompletionMessage): Uint8Array | undefined {
  if (c.bindingError !== undefined) return undefined;
  try {
    return protocol.write(c.error !== undefined ? { type: c.type, invocationId: c.invocationId, error: c.error } : { type: c.type, invocationId: c.invocationId, result: c.result });
  } catch {
    return undefined;
  }
}

/** Reads a ClientCompletion's payload back; undefined when it is not one readable Completion. */
export function readCompletionPayload(protocolName: string, payload: Uint8Array): CompletionMessage | undefined {
  const protocol = hubProtocol(protocolName);
  if (!protocol) return undefined;
  try {
    const reader = protocol.reader();
    reader.push(payload);
    const record = reader.next();
    const m = record && protocol.parse(record);
    return m && m.type === MessageType.Completion && m.bindingError === undefined ? m : undefined;
  } catch {
    return undefined;
  }
}
