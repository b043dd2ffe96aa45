// The committed lock file must let `npm ci` install on every platform: it names exactly the
// dependencies package.json asks for, and every platform's optional native binary of the
// packages that ship them (rollup, esbuild). An incrementally updated lock drops those.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8"));
const lock = JSON.parse(readFileSync(new URL("package-lock.json", root), "utf8"));
const packages: Record<string, { version?: string; optionalDependencies?: Record<string, string> }> = lock.packages;

describe("package-lock.json", () => {
  it("records the same dependency ranges as package.json", () => {
    const top = packages[""]!;
    expect(top).toMatchObject({
      dependencies: pkg.dependencies,
      devDependencies: pkg.devDependencies,
      peerDependencies: pkg.peerDependencies,
    });
  });

  it.each(["rollup", "esbuild"])("holds every platform binary of %s", (name) => {
    const entry = packages[`node_modules/${name}`];
    expect(entry, `${name} is locked`).toBeDefined();
    const optional = Object.keys(entry!.optionalDependencies ?? {});
    expect(optional.length).toBeGreaterThan(5);
    const missing = optional.filter((d) => !packages[`node_modules/${d}`]);
    expect(missing, "run: rm -rf node_modules package-lock.json && npm install").toEqual([]);
  });
});
