// The part of @microsoft/signalr's HubConnection that GracefulConnection uses.
// A real HubConnection fits it structurally; tests pass a fake.

export interface HubLike {
  readonly state: string;
  readonly connectionId: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  send(methodName: string, ...args: any[]): Promise<void>;
  invoke<T = any>(methodName: string, ...args: any[]): Promise<T>;
  on(methodName: string, newMethod: (...args: any[]) => any): void;
  off(methodName: string, method: (...args: any[]) => void): void;
  onclose(callback: (error?: Error) => void): void;
  onreconnecting(callback: (error?: Error) => void): void;
  onreconnected(callback: (connectionId?: string) => void): void;
}

import { DEV, code } from "./text";

const REQUIRED = ["start", "stop", "send", "invoke", "on", "off", "onclose", "onreconnecting", "onreconnected"] as const;

export function assertHubLike(hub: unknown): asserts hub is HubLike {
  if (typeof hub !== "object" || hub === null) throw new TypeError(DEV ? "GracefulConnection needs a HubConnection." : code(18));
  for (const k of REQUIRED) {
    if (typeof (hub as Record<string, unknown>)[k] !== "function") throw new TypeError(DEV ? `GracefulConnection needs a HubConnection (missing ${k}()).` : code(18, k));
  }
}
