// The demo, as one reusable piece: a MiniService, three MiniServers running the chat hub,
// and a page server on 127.0.0.1 that serves the page, the two browser builds, a /negotiate
// load balancer in front of the app servers, and a small JSON control API.
// `npm run demo` (demo/server.ts) and the browser test both start it through startDemo().
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MiniService } from "../src/testing/index.js";
import { CHAT_HUB } from "./chat-hub.js";
import { FleetError, SHUTDOWN_MODES, ServerFleet, type ShutdownModeName } from "./server-fleet.js";

export interface DemoOptions {
  /** Page server port on 127.0.0.1 (default 8080; 0 picks a free one). */
  port?: number;
  /** When the port is taken, use a free one instead of failing (default true). */
  portFallback?: boolean;
  /** Budget of each graceful shutdown (default 10 000 ms). */
  shutdownTimeoutMs?: number;
  /** App servers at start (default 3: server-a, server-b, server-c). */
  servers?: number;
  /** Where the demo writes what it does (default: nowhere). */
  log?: (line: string) => void;
}

export interface Demo {
  /** The page's URL. */
  url: string;
  port: number;
  service: MiniService;
  fleet: ServerFleet;
  /** Stops the page server, every app server and the service. */
  stop(): Promise<void>;
}

const demoDir = dirname(fileURLToPath(import.meta.url));
const root = resolve(demoDir, "..");

/** Explicit routes only: the page, and the two browser builds as a user would load them. */
const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: join(demoDir, "index.html"), type: "text/html; charset=utf-8" },
  "/index.html": { file: join(demoDir, "index.html"), type: "text/html; charset=utf-8" },
  "/app.js": { file: join(demoDir, "app.js"), type: "text/javascript; charset=utf-8" },
  "/style.css": { file: join(demoDir, "style.css"), type: "text/css; charset=utf-8" },
  "/vendor/signalr.min.js": { file: join(root, "node_modules/@microsoft/signalr/dist/browser/signalr.min.js"), type: "text/javascript; charset=utf-8" },
  "/vendor/signalr.min.js.map": { file: join(root, "node_modules/@microsoft/signalr/dist/browser/signalr.min.js.map"), type: "application/json" },
  "/dist/signalr-graceful.min.js": { file: join(root, "dist/signalr-graceful.min.js"), type: "text/javascript; charset=utf-8" },
  "/dist/signalr-graceful.min.js.map": { file: join(root, "dist/signalr-graceful.min.js.map"), type: "application/json" },
  "/dist/signalr-graceful-overlap.min.js": { file: join(root, "dist/signalr-graceful-overlap.min.js"), type: "text/javascript; charset=utf-8" },
  "/dist/signalr-graceful-overlap.min.js.map": { file: join(root, "dist/signalr-graceful-overlap.min.js.map"), type: "application/json" },
};

const BODY_LIMIT = 4 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer 0-65535 (got ${String(port)}).`);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? 10_000;
  if (!Number.isFinite(shutdownTimeoutMs) || shutdownTimeoutMs < 0) throw new RangeError("shutdownTimeoutMs must be a non-negative number.");
  const count = options.servers ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new RangeError("servers must be an integer from 1 to 8.");
  for (const f of ["/dist/signalr-graceful.min.js", "/dist/signalr-graceful-overlap.min.js", "/vendor/signalr.min.js"]) {
    if (!existsSync(FILES[f]!.file)) throw new Error(`${FILES[f]!.file} is missing: run \`npm install\` and \`npm run build\` first.`);
  }
  const log = options.log ?? (() => {});

  const service = await MiniService.start();
  const fleet = new ServerFleet(service, shutdownTimeoutMs);
  fleet.on("log", log);
  let http: Server | undefined;
  try {
    for (let i = 0; i < count; i++) await fleet.add();
    const sse = new Set<ServerResponse>();
    let origins: LocalOrigins | undefined;
    http = createServer((req, res) => void handle(req, res, fleet, sse, log, origins!));
    const actualPort = await listen(http, port, options.portFallback ?? true);
    origins = localOrigins(actualPort);
    if (port !== 0 && actualPort !== port) log(`port ${port} is taken; using ${actualPort}`);

    let pushTimer: NodeJS.Timeout | undefined;
    const push = (event: string, data: unknown) => {
      const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      for (const res of sse) res.write(frame);
    };
    fleet.on("changed", () => {
      pushTimer ??= setTimeout(() => {
        pushTimer = undefined;
        push("servers", { servers: fleet.list() });
      }, 25);
    });
    fleet.on("log", (line) => push("log", { line, at: Date.now() }));
    const heartbeat = setInterval(() => {
      for (const res of sse) res.write(": keep-alive\n\n");
    }, 15_000);
    heartbeat.unref();

    const server = http;
    let stopping: Promise<void> | undefined;
    return {
      url: `http://127.0.0.1:${actualPort}/`,
      port: actualPort,
      service,
      fleet,
      stop: () =>
        (stopping ??= (async () => {
          clearInterval(heartbeat);
          clearTimeout(pushTimer);
          for (const res of sse) res.end();
          server.closeAllConnections();
          await new Promise<void>((r) => server.close(() => r()));
          await fleet.stopAll();
          await service.stop();
        })()),
    };
  } catch (e) {
    http?.close();
    await fleet.stopAll();
    await service.stop();
    throw e;
  }
}

function listen(http: Server, port: number, fallback: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE" && fallback && port !== 0) {
        http.listen(0, "127.0.0.1");
        return;
      }
      http.off("listening", onListening);
      reject(e);
    };
    const onListening = () => {
      http.off("error", onError);
      resolve((http.address() as AddressInfo).port);
    };
    http.on("error", onError);
    http.once("listening", onListening);
    http.listen(port, "127.0.0.1");
  });
}

/**
 * The names this page server answers to. A request naming another Host is a DNS-rebinding
 * attempt (a foreign site's name resolved to 127.0.0.1) and a request with a foreign Origin is
 * another site's script: both are refused before any route runs, the negotiate included (it
 * answers with Access-Control-Allow-Credentials for the Origin it is given).
 */
interface LocalOrigins {
  hosts: ReadonlySet<string>;
  origins: ReadonlySet<string>;
}

function localOrigins(port: number): LocalOrigins {
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  return { hosts: new Set(hosts), origins: new Set(hosts.map((h) => `http://${h}`)) };
}

function checkLocal(req: IncomingMessage, local: LocalOrigins): void {
  const host = (req.headers.host ?? "").toLowerCase();
  if (!local.hosts.has(host)) throw new HttpError(403, `Host '${req.headers.host ?? ""}' is refused: open the demo at http://${[...local.hosts][0]}/.`);
  const origin = req.headers.origin;
  if (origin !== undefined && !local.origins.has(origin.toLowerCase())) throw new HttpError(403, "Cross-origin requests are refused.");
}

async function handle(req: IncomingMessage, res: ServerResponse, fleet: ServerFleet, sse: Set<ServerResponse>, log: (l: string) => void, local: LocalOrigins): Promise<void> {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  try {
    checkLocal(req, local);
    if (url.pathname.startsWith("/api/")) return await api(req, res, url, fleet, sse);
    // The load balancer in front of the app servers, on the page's own origin.
    if (url.pathname === `/${CHAT_HUB}/negotiate`) {
      // With no server at all, refuse through the negotiate protocol's own `error` field
      // (the client fails the attempt and retries by its policy): an HTTP 503 would put a
      // red "Failed to load resource" line in the browser's console on every attempt.
      if (!fleet.list().some((s) => s.state === "running")) return json(res, 200, { error: "No app server is available." });
      return await fleet.negotiate(req, res);
    }
    const f = FILES[url.pathname];
    if (!f) return text(res, 404, "Not found.");
    if (req.method !== "GET" && req.method !== "HEAD") return text(res, 405, "Method not allowed.");
    let body: Buffer;
    try {
      body = await readFile(f.file);
    } catch {
      return text(res, 404, "Not found.");
    }
    res.writeHead(200, { "Content-Type": f.type, "Content-Length": body.length, "Cache-Control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (e) {
    const status = e instanceof HttpError || e instanceof FleetError ? e.status : 500;
    if (status === 500) log(`error on ${req.method} ${url.pathname}: ${(e as Error).stack ?? String(e)}`);
    if (!res.headersSent) json(res, status, { error: status === 500 ? "Internal error." : (e as Error).message });
    else res.destroy();
  }
}

async function api(req: IncomingMessage, res: ServerResponse, url: URL, fleet: ServerFleet, sse: Set<ServerResponse>): Promise<void> {
  let parts: string[]; // ["api", ...]
  try {
    parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    throw new HttpError(400, "Malformed path.");
  }
  const route = `${req.method} /${parts.slice(1).map((p, i) => (i === 1 ? ":id" : p)).join("/")}`;
  if (req.method === "POST") checkJson(req);
  switch (route) {
    case "GET /servers":
      return json(res, 200, { servers: fleet.list() });
    case "POST /servers":
      await readJson(req);
      return json(res, 201, { server: await fleet.add() });
    case "POST /servers/:id/shutdown": {
      const body = await readJson(req);
      const mode = body.mode;
      if (typeof mode !== "string" || !SHUTDOWN_MODES.includes(mode as ShutdownModeName)) {
        throw new HttpError(400, `mode must be one of ${SHUTDOWN_MODES.join(", ")}.`);
      }
      return json(res, 202, { server: fleet.shutdown(parts[2]!, mode as ShutdownModeName) });
    }
    case "POST /servers/:id/kill":
      await readJson(req);
      return json(res, 200, { server: await fleet.kill(parts[2]!) });
    case "GET /events": {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", Connection: "keep-alive" });
      res.write(`event: servers\ndata: ${JSON.stringify({ servers: fleet.list() })}\n\n`);
      sse.add(res);
      req.on("close", () => sse.delete(res));
      return;
    }
  }
  const known = ["/servers", "/servers/:id/shutdown", "/servers/:id/kill", "/events"].includes(route.slice(route.indexOf(" ") + 1));
  throw new HttpError(known ? 405 : 404, known ? `${req.method} is not allowed here.` : `No API at ${url.pathname}.`);
}

/** JSON only: a form another page posts (text/plain, no preflight) is refused too. */
function checkJson(req: IncomingMessage): void {
  const type = req.headers["content-type"] ?? "";
  if (!type.startsWith("application/json")) throw new HttpError(415, "Send JSON (Content-Type: application/json).");
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > BODY_LIMIT) throw new HttpError(413, "Request body too large.");
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks).toString("utf8").trim();
  if (raw === "") return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(400, "The body is not valid JSON.");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new HttpError(400, "The body must be a JSON object.");
  return v as Record<string, unknown>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const t = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(t), "Cache-Control": "no-store" });
  res.end(t);
}

function text(res: ServerResponse, status: number, t: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(t) });
  res.end(t);
}
