// The chat's "database": one in-memory store shared by every app server, as a real app's
// database is. Messages get a global, increasing id, so a page that was away can ask for
// what it missed (`since(lastSeenId)`) and de-duplicate by id. Sends are idempotent by the
// client's message id: a resend after an interruption returns the stored message.

export interface ChatMessage {
  id: number;
  user: string;
  text: string;
  /** The sender page's id for this message; the idempotency key. */
  clientMsgId: string;
  /** The app server that stored it. */
  serverId: string;
  /** Epoch milliseconds. */
  at: number;
}

export class ChatStore {
  private readonly messages: ChatMessage[] = [];
  private readonly byClientId = new Map<string, ChatMessage>();
  private nextId = 1;

  constructor(private readonly keep = 1_000) {}

  /** Stores a message once per clientMsgId; `created` is false for a resend. */
  add(m: Omit<ChatMessage, "id" | "at">): { message: ChatMessage; created: boolean } {
    const existing = this.byClientId.get(m.clientMsgId);
    if (existing) return { message: existing, created: false };
    const message: ChatMessage = { ...m, id: this.nextId++, at: Date.now() };
    this.messages.push(message);
    this.byClientId.set(m.clientMsgId, message);
    if (this.messages.length > this.keep) this.byClientId.delete(this.messages.shift()!.clientMsgId);
    return { message, created: true };
  }

  /** Messages with an id above `sinceId`, oldest first, at most `limit`. */
  since(sinceId: number, limit = 500): ChatMessage[] {
    const out = this.messages.filter((m) => m.id > sinceId);
    return out.slice(Math.max(0, out.length - limit));
  }

  get size(): number {
    return this.messages.length;
  }
}
