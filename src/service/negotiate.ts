// The service's client negotiate endpoint: `POST {endpoint}/client/negotiate?hub=<hub>`.
// Versions 0 and 1; WebSockets only for now (SSE and long polling slot in here later).

export interface NegotiateResult {
  connectionId: string;
  connectionToken: string;
}

export const AVAILABLE_TRANSPORTS = [{ transport: "WebSockets", transferFormats: ["Text", "Binary"] }];

/** Reads `negotiateVersion`: absent means 0; anything but 0 or a positive integer is an error. */
export function negotiateVersion(query: URLSearchParams): number | { error: string } {
  const raw = query.get("negotiateVersion");
  if (raw === null) return 0;
  if (!/^\d{1,4}$/.test(raw)) return { error: `Invalid negotiateVersion '${raw.slice(0, 40)}'.` };
  return Math.min(Number(raw), 1);
}

export function negotiateBody(version: number, ids: NegotiateResult): Record<string, unknown> {
  return version >= 1
    ? { connectionId: ids.connectionId, connectionToken: ids.connectionToken, negotiateVersion: 1, availableTransports: AVAILABLE_TRANSPORTS }
    : { connectionId: ids.connectionToken, negotiateVersion: 0, availableTransports: AVAILABLE_TRANSPORTS };
}
