// `npm run demo` starts fast: rebuilds dist/ only when a build input is newer than the oldest
// build output (or an output is missing). Usage: node scripts/build-if-stale.mjs
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const INPUTS = ["src", "rollup.config.mjs", "tsconfig.build.json", "package.json", "package-lock.json"];
const OUTPUTS = ["index.js", "index.cjs", "index.d.ts", "testing.js", "testing.cjs", "testing.d.ts", "signalr-graceful.min.js", "signalr-graceful.esm.min.js", "signalr-graceful-overlap.min.js"].map((f) => join("dist", f));

/** The newest mtime under a path, with the file that has it. */
function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return { mtimeMs: s.mtimeMs, path };
  let best = { mtimeMs: 0, path };
  for (const entry of readdirSync(path)) {
    const n = newest(join(path, entry));
    if (n.mtimeMs > best.mtimeMs) best = n;
  }
  return best;
}

function staleReason() {
  const missing = OUTPUTS.find((f) => !existsSync(join(root, f)));
  if (missing) return `${missing} is missing`;
  const oldestOutput = Math.min(...OUTPUTS.map((f) => statSync(join(root, f)).mtimeMs));
  for (const input of INPUTS) {
    const p = join(root, input);
    if (!existsSync(p)) continue;
    const n = newest(p);
    if (n.mtimeMs > oldestOutput) return `${relative(root, n.path)} changed since the last build`;
  }
  return undefined;
}

const reason = staleReason();
if (reason === undefined) {
  console.log("dist/ is up to date with src/: no rebuild.");
} else {
  console.log(`Building (${reason})…`);
  const r = spawnSync(process.execPath, [join(root, "node_modules/rollup/dist/bin/rollup"), "-c", "--silent"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
