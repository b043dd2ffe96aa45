// `signalr-graceful emulator`: a MiniService on 127.0.0.1 for people who don't write Node tests.
// Paste the printed connection string into an ASP.NET Core app's Azure:SignalR:ConnectionString
// and the real Microsoft.Azure.SignalR SDK links to it, graceful shutdown included. A small
// status page (JSON at /status.json) shows servers, online/offline and connections per server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MiniService, type MiniServiceOptions } from "../service/mini-service.js";

/**
 * A fixed development key, so a connection string pasted into an app's settings keeps working
 * across restarts (the emulator listens on 127.0.0.1 only). `--access-key` replaces it.
 */
export const DEV_ACCESS_KEY = "c2lnbmFsci1ncmFjZWZ1bC1lbXVsYXRvci1kZXYta2V5";

export interface EmulatorOptions {
  port: number;
  statusPort: number;
  accessKey: string;
  service?: Omit<MiniServiceOptions, "port" | "accessKey">;
}

export interface Emulator {
  service: MiniService;
  connectionString: string;
  statusUrl: string;
  stop(): Promise<void>;
}

export const connectionStringOf = (endpoint: string, accessKey: string) => `Endpoint=${endpoint};AccessKey=${accessKey};Version=1.0;`;

export async function startEmulator(o: EmulatorOptions): Promise<Emulator> {
  const service = await MiniService.start({ ...o.service, port: o.port, accessKey: o.accessKey });
  let status: Server;
  try {
    status = await listenStatus(service, o.statusPort);
  } catch (e) {
    await service.stop();
    throw e;
  }
  return {
    service,
    connectionString: connectionStringOf(service.endpoint, o.accessKey),
    statusUrl: `http://127.0.0.1:${(status.address() as AddressInfo).port}/`,
    async stop() {
      status.closeAllConnections();
      await Promise.all([new Promise<void>((r) => status.close(() => r())), service.stop()]);
    },
  };
}

function snapshot(service: MiniService) {
  const connections = service.connections();
  return {
    endpoint: service.endpoint,
    servers: service.servers(),
    clients: connections.length,
    connections,
  };
}

function listenStatus(service: MiniService, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method !== "GET") return void res.writeHead(405).end();
    if (path === "/status.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      return void res.end(JSON.stringify(snapshot(service), null, 2));
    }
    if (path === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return void res.end(STATUS_PAGE);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const STATUS_PAGE = `<!doctype html><meta charset="utf-8"><title>SignalR emulator</title>
<style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.off{color:#b00}</style>
<h1>SignalR emulator</h1><p id="ep"></p><table><thead><tr><th>Server</th><th>Hubs</th><th>State</th><th>Links</th><th>Clients</th></tr></thead><tbody id="s"></tbody></table>
<script>
const esc = (t) => String(t).replace(/[&<>"]/g, (c) => "&#" + c.charCodeAt(0) + ";");
async function refresh() {
  try {
    const s = await (await fetch("status.json")).json();
    document.getElementById("ep").textContent = s.endpoint + " — " + s.clients + " client connection(s)";
    document.getElementById("s").innerHTML = s.servers.map((x) => "<tr><td>" + esc(x.serverId) + "</td><td>" + esc(x.hubs.join(", ")) + "</td><td class=" + (x.online ? "on>online" : "off>offline") + "</td><td>" + x.linkCount + "</td><td>" + x.connectionCount + "</td></tr>").join("") || "<tr><td colspan=5>No app server linked yet.</td></tr>";
  } catch {}
}
refresh(); setInterval(refresh, 1000);
</script>`;
