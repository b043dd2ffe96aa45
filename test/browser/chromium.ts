// Finds and launches the system Chromium for browser tests (no browser download: playwright-core
// drives Debian's `chromium`). CHROME_PATH overrides the path; REQUIRE_BROWSER=1 makes a missing
// browser a failure instead of a loud skip.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const chromePath = process.env.CHROME_PATH || "/usr/bin/chromium";
export const browserRequired = process.env.REQUIRE_BROWSER === "1";
export const hasBrowser = existsSync(chromePath);

if (!hasBrowser) {
  const msg = `\n\n  !!! No Chromium at ${chromePath} (set CHROME_PATH, or apt-get install chromium).\n  !!! ${browserRequired ? "REQUIRE_BROWSER=1: the browser tests FAIL." : "The browser tests are SKIPPED."}\n\n`;
  console.warn(msg);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile (removed on close). */
export async function launchChromium(): Promise<Browser> {
  if (!hasBrowser) throw new Error(`No Chromium at ${chromePath}: set CHROME_PATH or install chromium.`);
  const profile = await mkdtemp(join(tmpdir(), "signalr-graceful-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}
