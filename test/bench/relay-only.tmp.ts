import { echoVsRelay } from "./limit.js";
const r = await echoVsRelay({ clients: 8, window: 8, rounds: 8, sliceMs: 150 });
console.log(JSON.stringify(r));
process.exit(0);
