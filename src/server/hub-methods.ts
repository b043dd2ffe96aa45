// What the dispatcher knows about a hub class's methods before running any of them, as
// ASP.NET Core's HubMethodDescriptor does: the name (matched case-insensitively), how many
// arguments come from the message, whether it streams results, where client streams go.
import { Hub, RESERVED_METHODS, type HubClass } from "./hub.js";

export interface HubMethod {
  name: string;
  /** Declared parameters, client streams included. */
  arity: number;
  /** Returns a stream: an `async function*`, or listed in the class's `streamingMethods`. */
  streams: boolean;
  /** Parameter positions that receive a client-to-server stream (the class's `streamArguments`). */
  streamArguments: number[];
}

/** Statics a hub class may declare; see docs/testing-kit.md. */
interface HubStatics {
  streamingMethods?: readonly string[];
  streamArguments?: Readonly<Record<string, readonly number[]>>;
}

const cache = new WeakMap<HubClass, Map<string, HubMethod>>();
const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor;

/** Public hub methods by lower-cased name. */
export function hubMethods(cls: HubClass): Map<string, HubMethod> {
  let m = cache.get(cls);
  if (m) return m;
  const statics = cls as unknown as HubStatics;
  const streaming = new Set((statics.streamingMethods ?? []).map((n) => n.toLowerCase()));
  const streamArgs = new Map(Object.entries(statics.streamArguments ?? {}).map(([k, v]) => [k.toLowerCase(), [...v]]));
  m = new Map();
  for (let p = cls.prototype; p && p !== Hub.prototype && p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const name of Object.getOwnPropertyNames(p)) {
      const lower = name.toLowerCase();
      if (RESERVED_METHODS.has(lower) || name.startsWith("_") || m.has(lower)) continue;
      const fn = Object.getOwnPropertyDescriptor(p, name)?.value as unknown;
      if (typeof fn !== "function") continue;
      const positions = streamArgs.get(lower) ?? [];
      if (positions.some((i) => !Number.isInteger(i) || i < 0 || i >= fn.length))
        throw new RangeError(`streamArguments of '${name}' must be parameter positions below ${fn.length}.`);
      m.set(lower, { name, arity: fn.length, streams: fn instanceof AsyncGeneratorFunction || streaming.has(lower), streamArguments: positions });
    }
  cache.set(cls, m);
  return m;
}
