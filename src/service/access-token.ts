// Tokens signed with the service's access key (HS256, via jose), as Azure SignalR issues
// and checks them: client tokens for `{endpoint}/client/?hub=<hub>`, server tokens for
// `{endpoint}/server/?hub=<hub>`; the user id travels in `nameid`.
import { SignJWT, jwtVerify, errors } from "jose";

export const USER_ID_CLAIM = "nameid";
const DEFAULT_LIFETIME_S = 3600;

export const clientAudience = (endpoint: string, hub: string) => `${endpoint}/client/?hub=${hub}`;
export const serverAudience = (endpoint: string, hub: string) => `${endpoint}/server/?hub=${hub}`;

const keyBytes = (accessKey: string) => new TextEncoder().encode(accessKey);

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
    .sign(keyBytes(o.accessKey));
}

/** Why a token was refused; the HTTP answer is a bare 401 whatever the reason. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** Verifies signature, expiry and audience; returns the claims as strings. */
export async function verifyToken(token: string, accessKey: string, audience: string): Promise<Record<string, string>> {
  try {
    const { payload } = await jwtVerify(token, keyBytes(accessKey), { audience, algorithms: ["HS256"] });
    const claims: Record<string, string> = {};
    for (const [k, v] of Object.entries(payload)) {
      if (k === "aud" || k === "exp" || k === "iat" || k === "nbf") continue;
      claims[k] = typeof v === "string" ? v : JSON.stringify(v);
    }
    return claims;
  } catch (e) {
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
