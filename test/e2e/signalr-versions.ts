// The @microsoft/signalr majors the SDK supports (peer range >=8 <11), for tests that run once per
// version: `describe.each(SIGNALR_VERSIONS)`. 10.x is the package itself; 8.x and 9.x are the
// devDependency aliases signalr-v8 and signalr-v9.
import * as v10 from "@microsoft/signalr";
import * as v8 from "signalr-v8";
import * as v9 from "signalr-v9";

export interface SignalRVersion {
  name: string;
  /** The HubConnectionBuilder of that version (typed as 10.x's: the surface the SDK uses did not change). */
  HubConnectionBuilder: typeof v10.HubConnectionBuilder;
  LogLevel: typeof v10.LogLevel;
}

export const SIGNALR_VERSIONS: SignalRVersion[] = [
  { name: "@microsoft/signalr 8", HubConnectionBuilder: v8.HubConnectionBuilder as unknown as typeof v10.HubConnectionBuilder, LogLevel: v8.LogLevel as unknown as typeof v10.LogLevel },
  { name: "@microsoft/signalr 9", HubConnectionBuilder: v9.HubConnectionBuilder as unknown as typeof v10.HubConnectionBuilder, LogLevel: v9.LogLevel as unknown as typeof v10.LogLevel },
  { name: "@microsoft/signalr 10", HubConnectionBuilder: v10.HubConnectionBuilder, LogLevel: v10.LogLevel },
];

/** The version a test file uses when it runs once: SIGNALR_VERSION=8|9|10 picks one (default 10). */
export function signalrVersion(): SignalRVersion {
  const want = process.env.SIGNALR_VERSION ?? "10";
  const v = SIGNALR_VERSIONS.find((x) => x.name.endsWith(` ${want}`));
  if (!v) throw new RangeError(`SIGNALR_VERSION=${want}: use 8, 9 or 10.`);
  return v;
}
