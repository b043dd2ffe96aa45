// Which app server this connection is on (from the hello convention), which servers it left after
// their exit, and the last migration acted upon. Pure bookkeeping: GracefulConnection acts on what
// `hello()` reports.
import type { HelloPayload } from "../protocol/conventions";

/** What a hello changed: a new server (with the one before, if any) and/or a migration to act upon. */
export interface HelloNews {
  server?: { serverId: string; previous?: string };
  /** A migration not seen before ("repeat": the same move announced again, nothing to re-send). */
  migration?: { from: string; to: string } | "repeat";
}

/** Servers left after their exit that we remember: a late re-broadcast from them is not for us. */
const LEFT_KEPT = 16;

export class Servers {
  /** The server of the current connection; undefined until its hello arrives. */
  current: string | undefined;
  /** The last server we knew (kept across connections, for `server.previous`). */
  private lastKnown: string | undefined;
  private readonly leftServers: string[] = [];
  private lastMigration: string | undefined;

  hello(h: HelloPayload): HelloNews {
    const news: HelloNews = {};
    if (h.serverId !== this.current) {
      this.current = h.serverId;
      const previous = this.lastKnown;
      this.lastKnown = h.serverId;
      news.server = previous !== undefined && previous !== h.serverId ? { serverId: h.serverId, previous } : { serverId: h.serverId };
    }
    if (h.migratedFrom !== undefined) {
      const move = `${h.migratedFrom}>${h.serverId}`;
      news.migration = move === this.lastMigration ? "repeat" : { from: h.migratedFrom, to: h.serverId };
      this.lastMigration = move;
    }
    return news;
  }

  /** We leave the current server after its exit. */
  leave(): void {
    if (this.current === undefined) return;
    this.leftServers.push(this.current);
    if (this.leftServers.length > LEFT_KEPT) this.leftServers.shift();
  }

  hasLeft(serverId: string): boolean {
    return this.leftServers.includes(serverId);
  }

  /** The connection went away: its server and its migration with it (the servers left stay). */
  forget(): void {
    this.current = undefined;
    this.lastMigration = undefined;
  }
}
