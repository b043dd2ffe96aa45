// Entry of the overlap handoff's browser global (IIFE) build: only assigns `globalThis.signalRGracefulOverlap`.
import * as signalRGracefulOverlap from "./overlap";

(globalThis as unknown as { signalRGracefulOverlap: typeof signalRGracefulOverlap }).signalRGracefulOverlap = signalRGracefulOverlap;
