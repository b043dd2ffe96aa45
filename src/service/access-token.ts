// Tokens signed with the service's access key (HS256, via jose), as Azure SignalR issues
// and checks them: client tokens for `{endpoint}/client/?hub=<hub>`, server tokens for
// `{endpoint}/server/?hub=<hub>`. A client's user id travels in `asrs.s.uid` (the real SDK's
// negotiate) or `nameid`; a server token names its app server in `nameid`.
import { SignJWT, jwtVerify, errors } from "jose";

export const USER_ID_CLAIM = "nameid";
/** Where the real server SDK's negotiate puts the user id (ClaimType.UserId). */
export const SDK_USER_ID_CLAIM = "asrs.s.uid";
/** A server token's app-server id (the real SDK signs `nameid` = its server id). */
export const SERVER_ID_CLAIM = "nameid";

/** The user id a client token carries, SDK claim first. */
export const userIdOf = (claims: Record<string, string>): string | undefined => claims[SDK_USER_ID_CLAIM] ?? claims[USER_ID_CLAIM];

/**
 * Does a token's audience name this endpoint? The real SDK signs its audiences without the port
 * (`http://127.0.0.1/server/?hub=chat`), so a missing port matches; scheme, host, path and hub
 * (case-insensitive, as Azure's hub names are) must agree.
 */
export function audienceMatches(aud: string, expected: string): boolean {
  let a: URL, e: URL;
  try {
    a = new URL(aud);
    e = new URL(expected);
  } catch {
    return false;
  }
  const path = (u: URL) => u.pathname.replace(/\/+$/, "");
  return (
    a.protocol === e.protocol &&
    a.hostname === e.hostname &&
    (a.port === "" || a.port === e.port) &&
    path(a) === path(e) &&
    (a.searchParams.get("hub") ?? "").toLowerCase() === (e.searchParams.get("hub") ?? "").toLowerCase()
  );
}
const DEFAULT_LIFETIME_S = 3600;

export const clientAudience = (endpoint: string, hub: string) => `${endpoint}/client/?hub=${hub}`;
export const serverAudience = (endpoint: string, hub: string) => `${endpoint}/server/?hub=${hub}`;

/**
 * The HMAC key of an access key, imported once. jose takes raw bytes too, but then imports a
 * WebCrypto key on every sign and verify, which cost more than the HMAC itself (about half of
 * the kit's CPU per connection: one sign at the app server, two verifies at the service). A
 * handful of access keys live at once (one per service): the cache is small and bounded.
 */
const hmacKeys = new Map<string, Promise<CryptoKey>>();
const HMAC_KEYS_KEPT = 32;
function hmacKey(accessKey: string): Promise<CryptoKey> {
  let key = hmacKeys.get(accessKey);
  if (!key) {
    if (hmacKeys.size >= HMAC_KEYS_KEPT) hmacKeys.delete(hmacKeys.keys().next().value!);
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(accessKey), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(accessKey, key);
  }
  return key;
}

export interface TokenOptions {
  audience: string;
  accessKey: string;
  userId?: string;
  claims?: Record<string, string>;
  lifetimeSeconds?: number;
}

export async function signToken(o: TokenOptions): Promise<string> {
  const payload: Record<string, string> = { ...o.claims };
  if (o.userId !== undefined) payload[USER_ID_CLAIM] = o.userId;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(o.audience)
    .setIssuedAt(now)
    .setNotBefore(now - 60)
    .setExpirationTime(now + (o.lifetimeSeconds ?? DEFAULT_LIFETIME_S))
    .sign(await hmacKey(o.accessKey));
}

/** Why a token was refused; the HTTP answer is a bare 401 whatever the reason. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** Claims the service checks or ignores and never hands to the app server (the SDK's SystemClaims). */
const SYSTEM_CLAIMS = new Set(["aud", "exp", "iat", "nbf", "iss"]);

/** Verifies signature, expiry and audience; returns the other claims as strings. */
export async function verifyToken(token: string, accessKey: string, audience: string): Promise<Record<string, string>> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(accessKey), { algorithms: ["HS256"], requiredClaims: ["aud"] });
    const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!auds.some((a) => typeof a === "string" && audienceMatches(a, audience))) throw new TokenError("Token claim 'aud' is invalid.");
    const claims: Record<string, string> = {};
    for (const [k, v] of Object.entries(payload)) {
      if (SYSTEM_CLAIMS.has(k)) continue;
      claims[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return claims;
  } catch (e) {
    if (e instanceof TokenError) throw e;
    if (e instanceof errors.JWTExpired) throw new TokenError("Token expired.");
    if (e instanceof errors.JWTClaimValidationFailed) throw new TokenError(`Token claim '${e.claim}' is invalid.`);
    throw new TokenError("Token signature or format is invalid.");
  }
}

/** Reads the bearer token from `Authorization` (Node clients) or `access_token` (browsers' WebSockets). */
export function bearerToken(authorization: string | undefined, query: URLSearchParams): string | undefined {
  if (authorization?.startsWith("Bearer ")) return authorization.slice(7).trim() || undefined;
  return query.get("access_token") ?? undefined;
}
