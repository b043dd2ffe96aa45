// Entry of the browser global (IIFE) build: only assigns `globalThis.signalRGraceful`.
import * as signalRGraceful from "./index";

(globalThis as unknown as { signalRGraceful: typeof signalRGraceful }).signalRGraceful = signalRGraceful;
