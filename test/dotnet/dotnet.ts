// Running the C# projects under test/dotnet/ from vitest: find `dotnet`, build a project at most
// once per change (test files run in parallel forks, so builds are serialised by a lock
// directory and skipped when the output is newer than every source), and start the result
// with `dotnet path/to.dll`. Missing `dotnet` skips the .NET tests loudly, or fails them in CI.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe } from "vitest";

export const DOTNET_DIR = dirname(fileURLToPath(import.meta.url));

const DOTNET_ENV = { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: "1", DOTNET_NOLOGO: "1", DOTNET_SKIP_FIRST_TIME_EXPERIENCE: "1" };

/** Why .NET tests cannot run here, or undefined when a .NET 10 SDK is on PATH. */
export const dotnetMissing: string | undefined = (() => {
  const r = spawnSync("dotnet", ["--list-sdks"], { encoding: "utf8", env: DOTNET_ENV });
  if (r.error || r.status !== 0) return "`dotnet` is not on PATH";
  if (!/^10\./m.test(r.stdout)) return `no .NET 10 SDK (found: ${r.stdout.trim() || "none"})`;
  return undefined;
})();

/**
 * `describe` for tests that need .NET: a loud skip when `dotnet` is missing, a failure in CI
 * (CI=true or REQUIRE_DOTNET=1, which .ci/run sets), where the .NET tests are part of what must pass.
 */
export function describeDotnet(name: string, fn: () => void): void {
  if (!dotnetMissing) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === "true" || process.env.REQUIRE_DOTNET === "1") {
    describe(name, () => {
      throw new Error(`.NET tests cannot run in CI: ${dotnetMissing}. Install the .NET 10 SDK.`);
    });
    return;
  }
  console.warn(`\n*** SKIPPED (.NET): "${name}": ${dotnetMissing}. Install the .NET 10 SDK to run it. ***\n`);
  describe.skip(name, fn);
}

const SOURCE = /\.(cs|csproj|props|targets|json)$/;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "bin" || entry.name === "obj") continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (SOURCE.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const lock = join(dir, "obj", ".test-build.lock");
  mkdirSync(join(dir, "obj"), { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      break;
    } catch {
      // Held: by a live process (wait), or left behind by a dead one (take it over).
      let owner = 0;
      try {
        owner = Number(readFileSync(join(lock, "pid"), "utf8"));
      } catch {}
      if (owner && !isAlive(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`Timed out waiting for the build lock ${lock}`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const built = new Map<string, Promise<string>>();

/** Every C# project under test/dotnet/ (a directory holding a .csproj of its own name). */
export const dotnetProjects = (): string[] =>
  readdirSync(DOTNET_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(DOTNET_DIR, e.name, `${e.name}.csproj`)))
    .map((e) => e.name);

/**
 * Builds test/dotnet/<project> (or a project directory given by absolute path; Debug, as a bare `dotnet build` does) unless its output is newer
 * than every source file, and returns the path of its .dll.
 */
export function buildDotnetProject(project: string): Promise<string> {
  const dir = isAbsolute(project) ? project : join(DOTNET_DIR, project);
  const dll = join(dir, "bin", "Debug", "net10.0", `${basename(dir)}.dll`);
  const stamp = join(dir, "obj", ".test-build.stamp");
  const upToDate = () => {
    const out = Math.max(existsSync(dll) ? statSync(dll).mtimeMs : 0, existsSync(stamp) && existsSync(dll) ? statSync(stamp).mtimeMs : 0);
    return out > newestSource(dir);
  };
  let p = built.get(dir);
  if (!p) {
    p = (async () => {
      if (upToDate()) return dll;
      return withLock(dir, async () => {
        if (upToDate()) return dll; // another test file built it while we waited
        // Asynchronous, so a build never stalls the timers of servers starting alongside it.
        await new Promise<void>((resolve, reject) =>
          execFile("dotnet", ["build", dir, "--nologo", "-v", "q", "-clp:ErrorsOnly"], { encoding: "utf8", env: DOTNET_ENV, timeout: 300_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
            err ? reject(new Error(`dotnet build ${project} failed:\n${stdout}\n${stderr}`)) : resolve(),
          ),
        );
        writeFileSync(stamp, new Date().toISOString());
        return dll;
      });
    })();
    built.set(dir, p);
    p.catch(() => built.delete(dir));
  }
  return p;
}

/** Starts a built project: `dotnet <dll> ...args`, stdio piped, killed with the test run. */
export function spawnDotnet(dll: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn("dotnet", [dll, ...args], { env: { ...DOTNET_ENV, ...env }, stdio: ["pipe", "pipe", "pipe"] });
}
