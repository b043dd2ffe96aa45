// docs/csharp-hub.md's C# compiles as written: each block is a file of a project under
// test/dotnet/ that CI builds, marked `<!-- file: path -->` above the block. This keeps the two
// identical, so the doc cannot drift from the code the end-to-end tests run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/csharp-hub.md"), "utf8");

it("every C# block of docs/csharp-hub.md names its file", () => {
  const blocks = [...doc.matchAll(/^```(?:csharp|cs|c#)\n/gim)];
  const marked = [...doc.matchAll(/^<!-- file: (\S+) -->\n```csharp\n/gm)];
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  expect(marked.length).toBe(blocks.length);
});

for (const [, path, body] of doc.matchAll(/^<!-- file: (\S+) -->\n```csharp\n([\s\S]*?)^```$/gm)) {
  it(`the block for ${path} is that file, character for character`, () => {
    expect(body).toBe(readFileSync(join(root, path!), "utf8"));
  });
}
