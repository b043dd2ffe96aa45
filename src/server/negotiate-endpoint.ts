// The app server's /negotiate, as the real server SDK answers it: a redirect to the
// service's client endpoint with a token signed with the access key. Browsers may call it
// only from allowed origins, and only under this machine's names (see origin-policy.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import { clientAudience, signToken } from "../service/access-token.js";
import { requestUrl, sendJson, sendStatus } from "../service/http-helpers.js";
import { applyOriginPolicy, type AllowedOrigins } from "../service/origin-policy.js";

export interface Identity {
  userId?: string;
  claims?: Record<string, string>;
}

export interface NegotiateEndpointOptions {
  endpoint: string;
  accessKey: string;
  hasHub(name: string): boolean;
  /** Maps the request to a user; default reads `?user=`. Throw to refuse (401). */
  identify?: ((req: IncomingMessage, url: URL) => Identity | undefined | Promise<Identity | undefined>) | undefined;
  tokenLifetimeSeconds?: number | undefined;
  allowedOrigins?: AllowedOrigins | undefined;
  log(message: string): void;
}

const defaultIdentify = (_req: IncomingMessage, url: URL): Identity | undefined => {
  const user = url.searchParams.get("user");
  return user ? { userId: user } : undefined;
};

/** A malformed %-escape is a bad path (404), not a server error. */
const safeDecode = (s: string): string | undefined => {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
};

/**
 * The redirect URL, as the real server SDK builds it: the service's client endpoint plus
 * `asrs.op` (the original path) and the client's own query string, which the service hands
 * back to the app server in OpenConnection (that is how `graceful=1` reaches it).
 */
export function clientUrl(audience: string, hub: string, request: URL): string {
  const q = new URLSearchParams(request.search);
  q.delete("negotiateVersion"); // the client adds its own on the next negotiate
  const rest = q.toString();
  return `${audience}&asrs.op=${encodeURIComponent(`/${hub}`)}${rest ? `&${rest}` : ""}`;
}

export function negotiateEndpoint(o: NegotiateEndpointOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      const refused = applyOriginPolicy(req, res, o.allowedOrigins);
      if (refused) {
        req.resume();
        return sendJson(res, 403, { error: refused });
      }
      if (req.method === "OPTIONS") return sendStatus(res, 204);
      const url = requestUrl(req);
      const m = /^\/([^/]+)\/negotiate\/?$/.exec(url.pathname);
      const hub = m ? safeDecode(m[1]!) : undefined;
      if (!hub || !o.hasHub(hub)) return sendStatus(res, 404, "Not found.");
      if (req.method !== "POST") return sendStatus(res, 405, "Negotiate must be a POST.");
      req.resume();
      let identity: Identity | undefined;
      try {
        identity = await (o.identify ?? defaultIdentify)(req, url);
      } catch (e) {
        return sendJson(res, 401, { error: `Unauthorized: ${(e as Error).message}` });
      }
      const audience = clientAudience(o.endpoint, hub);
      const accessToken = await signToken({
        audience,
        accessKey: o.accessKey,
        ...(identity?.userId !== undefined ? { userId: identity.userId } : {}),
        ...(identity?.claims ? { claims: identity.claims } : {}),
        ...(o.tokenLifetimeSeconds !== undefined ? { lifetimeSeconds: o.tokenLifetimeSeconds } : {}),
      });
      sendJson(res, 200, { url: clientUrl(audience, hub, url), accessToken });
    } catch (e) {
      o.log(`negotiate failed: ${(e as Error).message}`);
      if (!res.headersSent) sendStatus(res, 500, "Internal error.");
    }
  };
}
