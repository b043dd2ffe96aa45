// A process of its own for the scale section, so that each side's memory can be read apart:
// `service` runs a MiniService, `server <endpoint> <accessKey>` a MiniServer linked to it.
// Talks to the parent over IPC: { cmd: "mem" } → a forced GC, then process.memoryUsage().
import { Hub, MiniServer, MiniService } from "../../src/testing/index.js";

class Bench extends Hub {
  echo(x: unknown) {
    return x;
  }
}

const [role, endpoint, accessKey] = process.argv.slice(2);
const send = (m: unknown) => process.send!(m);

async function main(): Promise<void> {
  let stop: () => Promise<void>;
  if (role === "service") {
    // Raw bench clients send no keep-alive pings: the client timeout is set out of the way.
    const s = await MiniService.start({ clientTimeoutMs: 3_600_000 });
    stop = () => s.stop();
    send({ ready: true, endpoint: s.endpoint, accessKey: s.accessKey });
  } else {
    const s = await MiniServer.start({ service: { endpoint: endpoint!, accessKey: accessKey! }, hubs: { bench: Bench } });
    stop = () => s.kill();
    send({ ready: true });
  }
  process.on("message", async (m: { cmd: string }) => {
    if (m.cmd === "mem") {
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      await new Promise((r) => setTimeout(r, 50));
      gc?.();
      // At the file-descriptor limit even memoryUsage() fails (it reads /proc): say so, don't die.
      try {
        send({ mem: process.memoryUsage(), gc: gc !== undefined });
      } catch (e) {
        send({ mem: null, error: (e as Error).message });
      }
    } else if (m.cmd === "stop") {
      await stop();
      process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
}

void main();
