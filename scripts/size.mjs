// Prints the browser bundle's size, minified and gzipped (zlib, level 9), alone and with
// @microsoft/signalr's own minified browser build, and writes bench-results/size.json.
// Run after a build: `npm run size` (= build + this script).
import { readFileSync, mkdirSync, writeFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const files = {
  iife: "dist/signalr-graceful.min.js",
  esm: "dist/signalr-graceful.esm.min.js",
  signalr: "node_modules/@microsoft/signalr/dist/browser/signalr.min.js",
};
const measure = (rel) => {
  const path = root + rel;
  if (!existsSync(path)) throw new Error(`${rel} is missing: run \`npm run build\` first.`);
  const buf = readFileSync(path);
  return { file: rel, minBytes: buf.length, gzipBytes: gzipSync(buf, { level: 9 }).length };
};

const iife = measure(files.iife);
const esm = measure(files.esm);
const signalr = measure(files.signalr);
const both = Buffer.concat([readFileSync(root + files.signalr), Buffer.from("\n"), readFileSync(root + files.iife)]);
const total = { minBytes: both.length, gzipBytes: gzipSync(both, { level: 9 }).length };

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`signalr-graceful (IIFE, without @microsoft/signalr): ${kb(iife.minBytes)} min, ${kb(iife.gzipBytes)} gzip`);
console.log(`signalr-graceful (ESM min):                         ${kb(esm.minBytes)} min, ${kb(esm.gzipBytes)} gzip`);
console.log(`@microsoft/signalr (browser min):                   ${kb(signalr.minBytes)} min, ${kb(signalr.gzipBytes)} gzip`);
console.log(`total on a page (both, gzipped as one):             ${kb(total.minBytes)} min, ${kb(total.gzipBytes)} gzip`);

mkdirSync(root + "bench-results", { recursive: true });
writeFileSync(root + "bench-results/size.json", JSON.stringify({ measuredAt: new Date().toISOString(), iife, esm, signalr, total }, null, 2) + "\n");
