// `npm run demo`: starts the demo chat (see demo-app.ts) and prints the page's URL.
//   node --import tsx demo/server.ts [--port 8080] [--shutdown-timeout 10000]
// Ctrl-C (SIGINT) or SIGTERM stops everything; a second one exits at once.
import { parseArgs } from "node:util";
import { startDemo } from "./demo-app.js";

function numberOption(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    console.error(`--${name} must be an integer from 0 to ${max} (got '${raw}').`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "shutdown-timeout": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: npm run demo -- [--port 8080] [--shutdown-timeout 10000]");
  process.exit(0);
}
const port = numberOption("port", values.port, 8080, 65535);
const shutdownTimeoutMs = numberOption("shutdown-timeout", values["shutdown-timeout"], 10_000, 600_000);

const time = () => new Date().toTimeString().slice(0, 8);
const demo = await startDemo({ port, shutdownTimeoutMs, log: (line) => console.log(`${time()}  ${line}`) });
console.log(`
  signalr-graceful demo chat is running.

    Open  ${demo.url}   (in two or more tabs: one user each)

  Servers server-a, server-b and server-c serve the "chat" hub through a miniature
  Azure SignalR Service at ${demo.service.endpoint}. Shut them down from the page.
  Ctrl-C to stop.
`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`\n${time()}  stopping…`);
    demo.stop().then(
      () => process.exit(0),
      (e: Error) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}
