import { GracefulConnection } from "../src/index.js";
// a minimal HubLike that answers every invoke at once (microtask)
class Fake {
  state = "Disconnected"; connectionId: string | null = null; baseUrl = "http://x/hub";
  async start() { this.state = "Connected"; this.connectionId = "c1"; }
  async stop() { this.state = "Disconnected"; }
  send() { return Promise.resolve(); }
  invoke(_m: string, ...a: any[]) { return Promise.resolve(a[0]); }
  on() {} off() {} onclose() {} onreconnecting() {} onreconnected() {}
}
const fake = new Fake();
const g = new GracefulConnection(fake as any, { logger: { log() {} } });
await g.start();
const N = 200_000;
async function run(f: (i: number) => Promise<unknown>, inflight: number) {
  const t = performance.now(); let i = 0;
  await Promise.all(Array.from({ length: inflight }, async () => { while (i < N) await f(i++); }));
  return ((performance.now() - t) * 1000) / N;
}
for (let r = 0; r < 4; r++) {
  const bare1 = await run((i) => fake.invoke("Echo", i), 1);
  const gr1 = await run((i) => g.invoke("Echo", i), 1);
  const bare16 = await run((i) => fake.invoke("Echo", i), 16);
  const gr16 = await run((i) => g.invoke("Echo", i), 16);
  const s16 = await run((i) => g.send("Echo", i), 16);
  console.log(`µs/call bare ${bare1.toFixed(2)} graceful ${gr1.toFixed(2)} | 16: bare ${bare16.toFixed(2)} graceful ${gr16.toFixed(2)} send ${s16.toFixed(2)}`);
}
await g.stop();
