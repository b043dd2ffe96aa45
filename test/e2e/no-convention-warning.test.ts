// The SDK's wire conventions cost other clients nothing: a plain @microsoft/signalr client and
// the real .NET client, connected without asking for them, log no warning or error — against
// the kit's default MiniServer and against the C# hub as docs/csharp-hub.md writes it (the
// ChatServer project, self-hosted). Each case has a control: the same client connecting with
// `?graceful=1`, as GracefulConnection does, gets the hello and, having no handler, warns.
import { HubConnectionBuilder, LogLevel, type ILogger } from "@microsoft/signalr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Hub, MiniServer, MiniService } from "../../src/testing/index.js";
import { AspNetServer } from "../dotnet/aspnet-server.js";
import { DotnetClient } from "../dotnet/dotnet-client.js";
import { describeDotnet } from "../dotnet/dotnet.js";

class Chat extends Hub {
  echo(x: unknown) {
    return x;
  }
}

/**
 * Connects, makes one round trip, disconnects; returns what the client logged at Warning or
 * above. The round trip comes after the hello on the wire (a server sends it in OnConnected,
 * before it runs any invocation), so a hello would have been handled, and warned about, by then.
 */
async function warningsOf(kind: "js" | "dotnet", url: string): Promise<string[]> {
  if (kind === "dotnet") {
    const c = await DotnetClient.launch({ url });
    try {
      await c.start();
      expect(await c.invoke("Echo", 1)).toBe(1);
      await c.stop();
      return c.warnings.map((w) => `${w.level}: ${w.message}`);
    } finally {
      await c.close();
    }
  }
  const logged: string[] = [];
  const logger: ILogger = { log: (level, message) => void (level >= LogLevel.Warning && logged.push(`${LogLevel[level]}: ${message}`)) };
  const c = new HubConnectionBuilder().withUrl(url).configureLogging(logger).build();
  await c.start();
  expect(await c.invoke("Echo", 1)).toBe(1);
  await c.stop();
  return logged;
}

const asking = (url: string) => `${url}${url.includes("?") ? "&" : "?"}graceful=1`;

function cases(hubUrl: () => string, kinds: readonly ("js" | "dotnet")[]) {
  for (const kind of kinds) {
    it(`a ${kind === "js" ? "plain JS" : ".NET"} client logs no warning or error`, async () => {
      expect(await warningsOf(kind, hubUrl())).toEqual([]);
    });
    it(`control: the same ${kind === "js" ? "JS" : ".NET"} client asking with ?graceful=1 gets the hello and warns`, async () => {
      const warnings = await warningsOf(kind, asking(hubUrl()));
      expect(warnings.join("\n")).toMatch(/graceful\.hello/i);
    });
  }
}

describe("No convention warning: the kit's default MiniServer", () => {
  let service: MiniService;
  let server: MiniServer;
  beforeAll(async () => {
    service = await MiniService.start();
    server = await MiniServer.start({ service, hubs: { chat: Chat } });
  });
  afterAll(async () => {
    await server?.kill();
    await service?.stop();
  });
  cases(() => server.url("chat"), ["js"]);
  describeDotnet("the .NET client", () => cases(() => server.url("chat"), ["dotnet"]));
});

describeDotnet("No convention warning: the C# hub of docs/csharp-hub.md, self-hosted", () => {
  let server: AspNetServer;
  beforeAll(async () => {
    server = await AspNetServer.start({ project: "ChatServer" });
  }, 60_000);
  afterAll(async () => {
    await server?.kill();
  });
  cases(() => server.url("chat"), ["js", "dotnet"]);
});
