// Quiet tests: console.warn / console.error raised while tests run (the SDK's expected
// "[signalr-graceful] Connection lost…", SignalR's own warnings) are held back, per test, and
// printed only when that test fails, under a heading that says so. console.log is left alone:
// tests print their measured figures with it on purpose.
// Output before the first hook (a module's import-time warning, such as "no Chromium") passes
// straight through; output of hooks and teardown is shown only if a test of the file failed.
// TEST_LOGS=1 turns the buffering off (everything printed as it happens).
import { afterAll, beforeAll, beforeEach } from "vitest";

type Method = "warn" | "error";
const METHODS: readonly Method[] = ["warn", "error"];
const original = { warn: console.warn.bind(console), error: console.error.bind(console) };

let active = false;
let anyFailed = false;
/** What was logged since the last test began (hooks, stragglers) or during the current test. */
let held: Array<{ method: Method; args: unknown[] }> = [];

function replay(heading: string): void {
  if (held.length === 0) return;
  original.error(`── ${heading} (${held.length} line${held.length === 1 ? "" : "s"} held back while it ran) ──`);
  for (const { method, args } of held) original[method](...args);
  held = [];
}

if (process.env.TEST_LOGS !== "1") {
  for (const method of METHODS) {
    console[method] = (...args: unknown[]) => {
      if (!active) return original[method](...args);
      held.push({ method, args });
    };
  }

  beforeAll(() => {
    active = true;
  });

  beforeEach((ctx) => {
    // Output of the hooks before this test belongs to this test's story; keep it with it.
    ctx.onTestFailed(() => {
      anyFailed = true;
      replay(`console output of the failing test "${ctx.task.name}"`);
    });
    ctx.onTestFinished(() => {
      if (ctx.task.result?.state !== "fail") held = [];
    });
  });

  afterAll(() => {
    if (anyFailed) replay("console output after the last test of a file with failures");
    held = [];
  });
}
