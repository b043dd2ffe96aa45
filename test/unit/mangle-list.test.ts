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
