// A process of its own for the exit-gap clients (section 6), apart from the service and the app
// servers, as clients are in production. argv: <hub url> <clients> [node-http]. Talks to the parent over IPC:
// { ready } once all are connected, then { sample } for each exit gap; { cmd: "stop" } ends it.
import { GapClients } from "./gap-clients.js";

const [url, n, http] = process.argv.slice(2);
const send = (m: unknown) => process.send!(m);

async function main(): Promise<void> {
  const clients = await GapClients.start(url!, Number(n), http === "node-http");
  clients.onSample = (sample) => send({ sample });
  send({ ready: true });
  process.on("message", async (m: { cmd: string }) => {
    if (m.cmd !== "stop") return;
    await clients.stop();
    process.exit(0);
  });
  process.on("disconnect", () => process.exit(0));
}

main().catch((e: unknown) => {
  console.error(`gap child: ${(e as Error).message}`);
  process.exit(1);
});
