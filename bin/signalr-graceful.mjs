#!/usr/bin/env node
// The package's command (`npx signalr-graceful emulator`): the built CLI when dist/ exists (an
// installed package), else the TypeScript source through tsx (a fresh clone after `npm ci`).
import { existsSync } from "node:fs";

const built = new URL("../dist/cli.js", import.meta.url);
if (existsSync(built)) await import(built.href);
else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
