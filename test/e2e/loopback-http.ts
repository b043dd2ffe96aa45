// The small HTTP servers tests stand up beside the kit (the chat store, the delivery ledger):
// listening on a free loopback port, their base URL, and a stop that doesn't wait for keep-alives.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export const listenLoopback = (http: Server): Promise<void> => new Promise((r) => http.listen(0, "127.0.0.1", () => r()));

export const loopbackUrl = (http: Server): string => `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;

export function closeHttp(http: Server): Promise<void> {
  http.closeAllConnections();
  return new Promise((r) => http.close(() => r()));
}
