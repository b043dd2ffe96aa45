// Error codes (src/client/text.ts): every code the SDK can throw in its minified builds has its text
// in docs/client.md ("Error codes"), and the table lists no code the SDK does not use.
import { readdirSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const read = (rel: string) => readFileSync(new URL(rel, root), "utf8");

it("documents exactly the codes the SDK uses", () => {
  const used = new Set<number>();
  for (const f of readdirSync(new URL("src/client/", root))) {
    for (const m of read(`src/client/${f}`).matchAll(/\bcode\((\d+)/g)) used.add(Number(m[1]));
  }
  const documented = new Set([...read("docs/client.md").matchAll(/^\| SGE(\d+) \|/gm)].map((m) => Number(m[1])));
  expect(used.size).toBeGreaterThan(20);
  expect([...used].sort((a, b) => a - b)).toEqual([...documented].sort((a, b) => a - b));
});

it("gives every full text in the SDK (both entries) a code", () => {
  // A text thrown without `DEV ? text : code(n, …)` would ship in full in the minified build.
  for (const f of readdirSync(new URL("src/client/", root))) {
    for (const line of read(`src/client/${f}`).split("\n")) {
      if (/new (TypeError|RangeError|Error|InvalidStateError)\(\s*[`"']/.test(line) || /super\(\s*[`"']/.test(line)) expect(line, f).toMatch(/DEV \?/);
    }
  }
});
