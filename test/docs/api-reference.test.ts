// The API reference is generated from the TSDoc comments by TypeDoc (typedoc.json; `npx typedoc`
// writes HTML to build/api/). This check converts and validates without writing anything: a
// {@link} to nothing, or a public signature naming a type the entry points don't export, fails it.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

it("TypeDoc builds the API reference with no warning (links resolve, every referenced type is exported)", () => {
  const r = spawnSync(process.execPath, [resolve(root, "node_modules/typedoc/bin/typedoc"), "--emit", "none", "--logLevel", "Warn"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const output = `${r.stdout}${r.stderr}`.trim();
  expect(output, "TypeDoc's warnings (see typedoc.json)").toBe("");
  expect(r.status).toBe(0);
}, 60_000);
