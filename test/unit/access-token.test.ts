// Token audiences as the real SDK signs them (no port) and as the kit signs them (with it).
import { describe, expect, it } from "vitest";
import { audienceMatches, signToken, verifyToken } from "../../src/service/access-token";

const EXPECTED = "http://127.0.0.1:8888/server/?hub=chat";

describe("audienceMatches", () => {
  it("accepts the endpoint with its port or without one, the hub in any case", () => {
    for (const aud of [EXPECTED, "http://127.0.0.1/server/?hub=chat", "http://127.0.0.1/server?hub=Chat", "http://127.0.0.1:8888/server/?hub=CHAT"]) expect(audienceMatches(aud, EXPECTED), aud).toBe(true);
  });

  it("refuses another scheme, host, port, path or hub, and non-URLs", () => {
    for (const aud of ["https://127.0.0.1/server/?hub=chat", "http://localhost/server/?hub=chat", "http://127.0.0.1:9999/server/?hub=chat", "http://127.0.0.1/client/?hub=chat", "http://127.0.0.1/server/?hub=other", "http://127.0.0.1/server/", "chat"])
      expect(audienceMatches(aud, EXPECTED), aud).toBe(false);
  });

  it("verifyToken applies it, and keeps the SDK's system claims from the app server", async () => {
    const key = "k".repeat(44);
    const ok = await signToken({ audience: "http://127.0.0.1/server/?hub=chat", accessKey: key, claims: { nameid: "app-1", iss: "azure-signalr" } });
    expect(await verifyToken(ok, key, EXPECTED)).toEqual({ nameid: "app-1" });
    const other = await signToken({ audience: "http://127.0.0.1/server/?hub=other", accessKey: key });
    await expect(verifyToken(other, key, EXPECTED)).rejects.toThrow("Token claim 'aud' is invalid.");
  });
});
