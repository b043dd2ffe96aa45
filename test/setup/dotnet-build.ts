// vitest globalSetup: builds every C# project under test/dotnet/ once, before any test file
// starts, when its output is older than its sources (.ci/run has normally built them already,
// so this is a quick check). Without it the first test to start a .NET process paid for the
// build inside its own 20 s timeout, and test files running in parallel queued on the lock.
// Without `dotnet` nothing happens here: the .NET tests skip (or fail in CI) on their own.
import { buildDotnetProject, dotnetMissing, dotnetProjects } from "../dotnet/dotnet.js";

export default async function setup(): Promise<void> {
  if (dotnetMissing) return;
  // One after the other: parallel `dotnet build`s of projects sharing nothing still fight for 2 cores.
  // A failed build stops nothing here: the tests that need the project build it again and fail
  // with the compiler's output, while the rest of the suite still runs.
  for (const project of dotnetProjects()) await buildDotnetProject(project).catch((e: Error) => console.warn(e.message));
}
