// The transport × hub protocol cells the service offers (MessagePack only where the transport
// carries binary), and a real client pinned to one of them.
import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";

export const CELLS: [keyof typeof HttpTransportType & string, "json" | "messagepack"][] = [
  ["WebSockets", "json"],
  ["WebSockets", "messagepack"],
  ["ServerSentEvents", "json"],
  ["LongPolling", "json"],
  ["LongPolling", "messagepack"],
];

/** A real client pinned to one transport and protocol (no fallback: a failure is the cell's). */
export function connectionFor(url: string, transport: keyof typeof HttpTransportType, protocol: "json" | "messagepack"): HubConnection {
  let b = new HubConnectionBuilder().withUrl(url, { transport: HttpTransportType[transport] }).configureLogging(LogLevel.None);
  if (protocol === "messagepack") b = b.withHubProtocol(new MessagePackHubProtocol());
  return b.build();
}

