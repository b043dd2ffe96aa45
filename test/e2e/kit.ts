// Shared set-up for end-to-end tests: a MiniService, some MiniServers, real clients.
import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { once } from "node:events";
import { MiniLoadBalancer, MiniServer, MiniService, type HubClass, type MiniServerOptions, type MiniServiceOptions } from "../../src/testing/index.js";

export interface Kit {
  service: MiniService;
  servers: MiniServer[];
  /** One URL in front of every running server, as a deployment's load balancer. */
  balancer: MiniLoadBalancer;
  addServer(id?: string, extra?: Partial<MiniServerOptions>): Promise<MiniServer>;
  client(hub?: string, opts?: { user?: string; server?: MiniServer; configure?: (b: HubConnectionBuilder) => HubConnectionBuilder }): HubConnection;
  connect(hub?: string, opts?: { user?: string; server?: MiniServer }): Promise<HubConnection>;
  close(): Promise<void>;
}

export async function startKit(o: {
  hubs: Record<string, HubClass>;
  servers?: number;
  serverOptions?: Partial<MiniServerOptions>;
  serviceOptions?: MiniServiceOptions;
}): Promise<Kit> {
  const service = await MiniService.start(o.serviceOptions);
  const servers: MiniServer[] = [];
  const balancer = await MiniLoadBalancer.start({ servers: () => servers });
  const clients: HubConnection[] = [];
  const defaultHub = Object.keys(o.hubs)[0]!;
  const kit: Kit = {
    service,
    servers,
    balancer,
    async addServer(id, extra) {
      const s = await MiniServer.start({ service, hubs: o.hubs, ...(id ? { id } : {}), ...o.serverOptions, ...extra });
      servers.push(s);
      return s;
    },
    client(hub = defaultHub, opts = {}) {
      const server = opts.server ?? servers.find((s) => s.isRunning)!;
      const url = server.url(hub) + (opts.user ? `?user=${encodeURIComponent(opts.user)}` : "");
      let b = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None);
      if (opts.configure) b = opts.configure(b);
      const c = b.build();
      clients.push(c);
      return c;
    },
    async connect(hub, opts) {
      const c = kit.client(hub, opts);
      await c.start();
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.stop().catch(() => {})));
      await Promise.all(servers.map((s) => s.kill()));
      await balancer.stop();
      await service.stop();
    },
  };
  for (let i = 0; i < (o.servers ?? 1); i++) await kit.addServer(`server-${String.fromCharCode(97 + i)}`);
  return kit;
}

/** Resolves with the arguments of the next call of a client method. */
export function nextCall(c: HubConnection, method: string, pred: (...args: any[]) => boolean = () => true): Promise<any[]> {
  return new Promise((resolve) => {
    const h = (...args: any[]) => {
      if (!pred(...args)) return;
      c.off(method, h);
      resolve(args);
    };
    c.on(method, h);
  });
}

/** Resolves when the connection closes, with the error it closed with. */
export function closed(c: HubConnection): Promise<Error | undefined> {
  return new Promise((resolve) => c.onclose((e) => resolve(e)));
}

/** Awaits an event of an EventEmitter whose payload matches. */
export async function event<T>(emitter: { on: Function; off: Function }, name: string, pred: (p: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const h = (p: T) => {
      if (!pred(p)) return;
      emitter.off(name, h);
      resolve(p);
    };
    emitter.on(name, h);
  });
}

export { once };
