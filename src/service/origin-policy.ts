// Who may call a negotiate endpoint from a browser. Negotiate answers carry a token for
// whatever user the request names, so credentials are never granted to an arbitrary page:
// only allow-listed origins get CORS headers (with credentials), others get 403. The Host
// check stops DNS rebinding, where a foreign page talks to us under its own name.
import type { IncomingMessage, ServerResponse } from "node:http";

/** Exact origins ("http://localhost:5173"), or a predicate. */
export type AllowedOrigins = readonly string[] | ((origin: string) => boolean);

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Default: pages served from this machine (localhost, 127.0.0.1, [::1], any port). */
export function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && LOOPBACK_HOSTS.has(u.hostname);
  } catch {
    return false;
  }
}

/** A Host header naming this machine (any port); anything else is a rebinding attempt or a proxy we do not know. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return LOOPBACK_HOSTS.has(name.toLowerCase());
}

export function originAllowed(origin: string, allowed: AllowedOrigins | undefined): boolean {
  if (allowed === undefined) return isLoopbackOrigin(origin);
  return typeof allowed === "function" ? allowed(origin) : allowed.includes(origin);
}

/**
 * Applies the policy. Returns an error text when the request must be refused (403), else
 * sets the CORS headers for an allowed Origin (none for a request without one).
 */
export function applyOriginPolicy(req: IncomingMessage, res: ServerResponse, allowed: AllowedOrigins | undefined, checkHost = true): string | undefined {
  if (checkHost && !isLoopbackHost(req.headers.host)) return `Host '${req.headers.host ?? ""}' is not allowed.`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (!originAllowed(origin, allowed)) return `Origin '${origin}' is not allowed.`;
  res.setHeader("Access-Control-Allow-Origin", origin);
  res.setHeader("Access-Control-Allow-Credentials", "true");
  res.setHeader("Access-Control-Allow-Headers", "authorization, content-type, x-requested-with, x-signalr-user-agent");
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
  res.setHeader("Vary", "Origin");
  return undefined;
}
