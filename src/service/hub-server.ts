// One app server as one hub sees it: its links, whether new clients may be routed to it,
// and the client connections it serves.
import type { ClientConnection } from "./client-connection.js";
import type { ServerLink } from "./server-link.js";

export class HubServer {
  readonly links: ServerLink[] = [];
  readonly connections = new Set<ClientConnection>();
  /** Cleared by a FIN: no new connection is routed here, existing ones stay (by mode). */
  online = true;
  private nextLink = 0;

  constructor(
    readonly serverId: string,
    readonly hub: string,
  ) {}

  /** Spreads connections over the server's links, round robin. */
  pickLink(): ServerLink | undefined {
    const live = this.links.filter((l) => !l.closed);
    if (live.length === 0) return undefined;
    return live[this.nextLink++ % live.length];
  }
}
