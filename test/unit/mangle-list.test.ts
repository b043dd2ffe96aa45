// The minified builds rename the property names listed in rollup.config.mjs (PRIVATE). A name there
// that is also public — a field, method or option of the published types, an event payload key, a
// member of the overlap seam (Handoff/HandoffHost, used across two bundles) — would break the
// minified build only. This keeps the list and the published declarations apart (npm test builds first).
import { readdirSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, root), "utf8");

it("renames no name the published types declare", () => {
  const list = read("rollup.config.mjs").match(/const PRIVATE = (\[[\s\S]*?\]);/);
  expect(list, "PRIVATE in rollup.config.mjs").not.toBeNull();
  const renamed: string[] = [...list![1]!.matchAll(/"([\w$]+)"/g)].map((m) => m[1]!);
  expect(renamed.length).toBeGreaterThan(50);

  const declarations = ["dist/index.d.ts", "dist/overlap.d.ts", ...readdirSync(new URL("dist/chunks/", root)).filter((f) => f.endsWith(".d.ts")).map((f) => `dist/chunks/${f}`)];
  const published = new Set<string>();
  for (const file of declarations) {
    for (const line of read(file).split("\n")) {
      if (/^\s*(private|protected)\b/.test(line)) continue; // declared private: the SDK's own
      const m = line.match(/^\s*(?:readonly\s+|get\s+|set\s+|static\s+)*([A-Za-z_$][\w$]*)\??\s*[:(<]/);
      if (m) published.add(m[1]!);
    }
  }
  expect(published.has("attempts") && published.has("incoming") && published.has("serverId")).toBe(true); // the scan sees fields, the seam, payload keys
  expect(renamed.filter((n) => published.has(n))).toEqual([]);
});

// A renamed name that is also a string in the source may be a key read by a computed access
// (`STATE[phase]`, a table indexed by a phase name): renamed as a key, still looked up by its text.
// Terser's list of DOM property names used to shield `connected` (a phase, and a method of the
// outbox) by chance; with `builtins: true` nothing does. Strings compared by value only are listed.
it("renames no name the SDK's source also uses as a string (a key it may look up by its text)", () => {
  const list = read("rollup.config.mjs").match(/const PRIVATE = (\[[\s\S]*?\]);/);
  const renamed = new Set([...list![1]!.matchAll(/"([\w$]+)"/g)].map((m) => m[1]!));
  const comparedOnly = new Set(["awaitMigration"]); // exit-decision's answer, compared with ===, never a key
  const files = ["src/index.ts", "src/overlap.ts", "src/protocol/conventions.ts",
    ...readdirSync(new URL("src/client/", root)).filter((f) => f.endsWith(".ts")).map((f) => `src/client/${f}`)];
  const clashes: string[] = [];
  for (const file of files) {
    const code = read(file).replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const m of code.matchAll(/["'`]([\w$]+)["'`]/g)) {
      if (renamed.has(m[1]!) && !comparedOnly.has(m[1]!)) clashes.push(`${m[1]} in ${file}`);
    }
  }
  expect(clashes).toEqual([]);
});
