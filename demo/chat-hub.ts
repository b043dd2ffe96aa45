// The demo's chat hub. State lives in the shared ChatStore (the app's database), never in
// one server's memory, so any server can serve any user and a page can catch up after a move.
import { Hub, HubException, type HubClass } from "../src/testing/index.js";
import type { ChatMessage, ChatStore } from "./chat-store.js";

export const CHAT_HUB = "chat";

/** Which client connections each app server serves now (what its shutdown hook tells). */
export class ConnectionRegistry {
  private readonly byServer = new Map<string, Set<string>>();

  add(serverId: string, connectionId: string): void {
    const set = this.byServer.get(serverId) ?? new Set<string>();
    set.add(connectionId);
    this.byServer.set(serverId, set);
  }

  remove(serverId: string, connectionId: string): void {
    this.byServer.get(serverId)?.delete(connectionId);
  }

  on(serverId: string): string[] {
    return [...(this.byServer.get(serverId) ?? [])];
  }
}

const LIMITS = { clientMsgId: 64, user: 32, text: 500 };

function requireText(name: keyof typeof LIMITS, v: unknown): string {
  if (typeof v !== "string" || v.trim() === "") throw new HubException(`${name} must be a non-empty string.`);
  if (v.length > LIMITS[name]) throw new HubException(`${name} is longer than ${LIMITS[name]} characters.`);
  return v.trim();
}

/** The hub class, bound to the shared store and registry (hubs are created per call). */
export function chatHub(store: ChatStore, registry: ConnectionRegistry): HubClass {
  return class ChatHub extends Hub {
    override onConnected(): void {
      registry.add(this.context.serverId, this.context.connectionId);
    }

    override onDisconnected(): void {
      registry.remove(this.context.serverId, this.context.connectionId);
    }

    /** Stores and broadcasts a message; a resend with the same clientMsgId returns the stored one and broadcasts nothing. */
    async sendMessage(clientMsgId: unknown, user: unknown, text: unknown): Promise<ChatMessage> {
      const { message, created } = store.add({
        clientMsgId: requireText("clientMsgId", clientMsgId),
        user: requireText("user", user),
        text: requireText("text", text),
        serverId: this.context.serverId,
      });
      if (created) await this.clients.all.send("message", message);
      return message;
    }

    /** What a page missed: the messages after the last id it saw. */
    history(sinceId: unknown): ChatMessage[] {
      const since = typeof sinceId === "number" && Number.isInteger(sinceId) && sinceId >= 0 ? sinceId : 0;
      return store.since(since);
    }
  };
}
