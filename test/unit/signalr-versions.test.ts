// What the SDK relies on in each supported @microsoft/signalr major (8, 9, 10), checked on real
// HubConnection objects (no server): the HubLike surface, a settable baseUrl (the graceful=1 mark),
// and the private `_stopPromise` that tells a server Close without allowReconnect from a drop.
import { describe, expect, it } from "vitest";
import { GracefulConnection } from "../../src/index";
import { assertHubLike } from "../../src/client/hub-like";
import { SIGNALR_VERSIONS } from "../e2e/signalr-versions";

describe.each(SIGNALR_VERSIONS)("$name", ({ HubConnectionBuilder, LogLevel }) => {
  const build = (url = "http://127.0.0.1:9/chat") => new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();

  it("fits HubLike and gets the graceful=1 mark on its URL, once, keeping the query it had", () => {
    const hub = build("http://127.0.0.1:9/chat?user=u1");
    expect(() => assertHubLike(hub)).not.toThrow();
    new GracefulConnection(hub, { logger: { log() {} } });
    expect(hub.baseUrl).toBe("http://127.0.0.1:9/chat?user=u1&graceful=1");
    const plain = build();
    new GracefulConnection(plain, { logger: { log() {} } });
    new GracefulConnection(plain, { logger: { log() {} } });
    expect(plain.baseUrl).toBe("http://127.0.0.1:9/chat?graceful=1");
  });

  it("leaves a fresh _stopPromise on each stop() (the server-Close detection depends on it)", async () => {
    const hub = build();
    expect((hub as unknown as { _stopPromise?: unknown })._stopPromise).toBeUndefined();
    const p = hub.stop();
    const first = (hub as unknown as { _stopPromise?: Promise<void> })._stopPromise;
    expect(typeof first?.then).toBe("function");
    await p;
    void hub.stop();
    expect((hub as unknown as { _stopPromise?: unknown })._stopPromise).not.toBe(first);
  });
});
