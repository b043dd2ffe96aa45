// Prints the gzipped size (zlib, level 9) of each browser entry point, alone and with
// @microsoft/signalr's own minified browser build, writes bench-results/size.json, and exits 1 when
// an entry point is over its budget in scripts/size-budget.json (the one place budgets live).
// Run after a build: `npm run size` (= build + this script); `npm run size -- --modules` also
// prints the main entry's bytes per source module.
import { readFileSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { TraceMap, eachMapping } from "@jridgewell/trace-mapping";

const root = fileURLToPath(new URL("../", import.meta.url));
const budgets = JSON.parse(readFileSync(root + "scripts/size-budget.json", "utf8"));
const read = (rel) => {
  if (!existsSync(root + rel)) throw new Error(`${rel} is missing: run \`npm run build\` first.`);
  return readFileSync(root + rel);
};
const measure = (rel) => {
  const buf = read(rel);
  return { file: rel, minBytes: buf.length, gzipBytes: gzipSync(buf, { level: 9 }).length };
};
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

const entries = {};
let over = 0;
for (const [name, b] of Object.entries(budgets)) {
  if (name.startsWith("$")) continue;
  const m = measure(b.file);
  const ok = m.gzipBytes <= b.gzipBytes;
  if (!ok) over++;
  entries[name] = { ...m, budgetBytes: b.gzipBytes, ...(b.goal ? { goalBytes: b.goal } : {}) };
  console.log(`${name.padEnd(50)} ${kb(m.minBytes).padStart(8)} min ${kb(m.gzipBytes).padStart(8)} gzip  budget ${kb(b.gzipBytes)}${b.goal ? `, goal ${kb(b.goal)}` : ""}  ${ok ? "ok" : "OVER BUDGET"}`);
}
const signalr = measure("node_modules/@microsoft/signalr/dist/browser/signalr.min.js");
const iife = budgets["main (IIFE, dist/signalr-graceful.min.js)"].file;
const both = Buffer.concat([read(signalr.file), Buffer.from("\n"), read(iife)]);
const total = { minBytes: both.length, gzipBytes: gzipSync(both, { level: 9 }).length };
console.log(`${"@microsoft/signalr (browser min)".padEnd(50)} ${kb(signalr.minBytes).padStart(8)} min ${kb(signalr.gzipBytes).padStart(8)} gzip`);
console.log(`${"both on a page (gzipped as one)".padEnd(50)} ${kb(total.minBytes).padStart(8)} min ${kb(total.gzipBytes).padStart(8)} gzip`);

// Where the main entry's bytes go: minified bytes per source module, read off its source map
// (`--modules` prints it; size.json always has it).
function perModule(rel) {
  const code = read(rel).toString("utf8");
  const map = new TraceMap(JSON.parse(read(rel + ".map").toString("utf8")));
  const lines = code.split("\n");
  const segments = [];
  eachMapping(map, (m) => segments.push(m));
  segments.sort((a, b) => a.generatedLine - b.generatedLine || a.generatedColumn - b.generatedColumn);
  const bytes = {};
  segments.forEach((m, i) => {
    const n = segments[i + 1];
    const end = n && n.generatedLine === m.generatedLine ? n.generatedColumn : lines[m.generatedLine - 1].length;
    const key = (m.source ?? "?").replace(/^.*?\/(src|node_modules)\//, "$1/");
    bytes[key] = (bytes[key] ?? 0) + end - m.generatedColumn;
  });
  return Object.fromEntries(Object.entries(bytes).sort((a, b) => b[1] - a[1]));
}
const modules = perModule(budgets["main (ESM, dist/signalr-graceful.esm.min.js)"].file);
if (process.argv.includes("--modules")) {
  console.log("\nmain entry, minified bytes per module:");
  for (const [m, n] of Object.entries(modules)) console.log(`${String(n).padStart(7)}  ${m}`);
}

mkdirSync(root + "bench-results", { recursive: true });
// iife/esm kept under their old names for the bench's table.
const out = { measuredAt: new Date().toISOString(), entries, modules, iife: entries[Object.keys(entries)[0]], esm: entries[Object.keys(entries)[1]], signalr, total };
writeFileSync(root + "bench-results/size.json", JSON.stringify(out, null, 2) + "\n");
if (over) {
  console.error(`${over} entry point(s) over budget (scripts/size-budget.json).`);
  process.exit(1);
}
