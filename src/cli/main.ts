// The package's command line: `signalr-graceful emulator [--port 8888] [--status-port N] [--access-key KEY]`.
import { parseArgs } from "node:util";
import { DEV_ACCESS_KEY, startEmulator } from "./emulator.js";

const USAGE = `Usage: signalr-graceful emulator [--port 8888] [--status-port <port+1>] [--access-key <key>]

Starts a local Azure SignalR Service emulator (default mode: app servers link to it) on 127.0.0.1
and prints the connection string for Azure:SignalR:ConnectionString. Ctrl-C stops it.`;

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`--${name} must be a port number 0-65535, got '${value}'.`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { port: { type: "string" }, "status-port": { type: "string" }, "access-key": { type: "string" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] !== "emulator" || positionals.length > 1) {
    (values.help ? console.log : console.error)(USAGE);
    return values.help ? 0 : 2;
  }
  let emulatorPort: number, statusPort: number;
  try {
    emulatorPort = port(values.port, 8888, "port");
    statusPort = port(values["status-port"], emulatorPort === 0 ? 0 : emulatorPort + 1, "status-port");
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const accessKey = values["access-key"] ?? DEV_ACCESS_KEY;
  if (accessKey.length < 32) {
    console.error("--access-key must be at least 32 characters (the SDK signs HS256 tokens with it).");
    return 2;
  }
  const emulator = await startEmulator({ port: emulatorPort, statusPort, accessKey });
  const s = emulator.service;
  s.on("serverLinked", (e) => console.log(`server linked    ${e.serverId} (hub ${e.hub})`));
  s.on("serverOffline", (e) => console.log(`server offline   ${e.serverId} (hub ${e.hub}, FIN ${e.mode === 2 ? "MigrateClients" : e.mode === 1 ? "WaitForClientsClose" : "Off"})`));
  s.on("serverUnlinked", (e) => console.log(`server gone      ${e.serverId} (hub ${e.hub}${e.abrupt ? ", connection lost" : ""})`));
  s.on("clientMigrated", (e) => console.log(`client migrated  ${e.connectionId} ${e.from} -> ${e.to}`));
  s.on("rejected", (e) => console.log(`refused          ${e.where}: ${e.reason}`));
  console.log(`SignalR emulator listening on ${s.endpoint}
Connection string:
  ${emulator.connectionString}
e.g.  export Azure__SignalR__ConnectionString="${emulator.connectionString}"
Status: ${emulator.statusUrl} (JSON: ${emulator.statusUrl}status.json)
Ctrl-C to stop.`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await emulator.stop();
  console.log("emulator stopped");
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(e.message);
    process.exit(1);
  },
);
