// The service's client negotiate endpoint: `POST {endpoint}/client/negotiate?hub=<hub>`.
// Versions 0 and 1; the three transports as ASP.NET Core offers them; stateful reconnect
// only when the client asks for it (the client refuses an answer that offers it unasked).

export interface NegotiateResult {
  connectionId: string;
  connectionToken: string;
  /** Answer `useStatefulReconnect: true` (the client asked, and the service allows it). */
  useStatefulReconnect?: boolean;
}

export const AVAILABLE_TRANSPORTS = [
  { transport: "WebSockets", transferFormats: ["Text", "Binary"] },
  { transport: "ServerSentEvents", transferFormats: ["Text"] },
  { transport: "LongPolling", transferFormats: ["Text", "Binary"] },
];

/** Reads `negotiateVersion`: absent means 0; anything but 0 or a positive integer is an error. */
export function negotiateVersion(query: URLSearchParams): number | { error: string } {
  const raw = query.get("negotiateVersion");
  if (raw === null) return 0;
  if (!/^\d{1,4}$/.test(raw)) return { error: `Invalid negotiateVersion '${raw.slice(0, 40)}'.` };
  return Math.min(Number(raw), 1);
}

/** The client asked for stateful reconnect (`useStatefulReconnect=true`, version 1 and up only). */
export function wantsStatefulReconnect(query: URLSearchParams, version: number): boolean {
  return version >= 1 && query.get("useStatefulReconnect")?.toLowerCase() === "true";
}

export function negotiateBody(version: number, ids: NegotiateResult): Record<string, unknown> {
  if (version < 1) return { connectionId: ids.connectionToken, negotiateVersion: 0, availableTransports: AVAILABLE_TRANSPORTS };
  return {
    connectionId: ids.connectionId,
    connectionToken: ids.connectionToken,
    negotiateVersion: 1,
    availableTransports: AVAILABLE_TRANSPORTS,
    ...(ids.useStatefulReconnect ? { useStatefulReconnect: true } : {}),
  };
}
