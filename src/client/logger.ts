// Logging through @microsoft/signalr's ILogger shape, without importing it at runtime
// (the SDK has no runtime dependency on @microsoft/signalr at all).
import type { ILogger, LogLevel } from "@microsoft/signalr";

/** LogLevel values (numeric, as in @microsoft/signalr). */
export const Level = { Debug: 1 as LogLevel, Information: 2 as LogLevel, Warning: 3 as LogLevel, Error: 4 as LogLevel } as const;

/** Default: warnings and errors to the console, the rest dropped. */
export const consoleWarnLogger: ILogger = {
  log(level, message) {
    if (level >= Level.Error) console.error(`[signalr-graceful] ${message}`);
    else if (level >= Level.Warning) console.warn(`[signalr-graceful] ${message}`);
  },
};
