// The kit's DeliveryLedger over HTTP, as the shared store of several real C# app servers
// (ChatServer's HttpDeliveryLedger, DELIVERY_LEDGER_URL): POST begin / complete / handover / take,
// JSON bodies. `begin` answers once the ledger lets the delivery run (or finds it a copy) and
// holds it "running" until `complete`, as IDeliveryLedger.TryBeginAsync / CompleteAsync.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { closeHttp, listenLoopback, loopbackUrl } from "./loopback-http.js";
import { DeliveryLedger, type DeliveryId, type DeliveryLedgerOptions } from "../../src/testing/index.js";

const key = (id: DeliveryId) => `${id.clientId}#${id.n}`;

async function body(req: IncomingMessage): Promise<any> {
  let text = "";
  req.setEncoding("utf8");
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

/** An id the C# filter already read from a marker: its sender may be scoped to a user (senderKey), so longer. */
const idOf = (v: any): DeliveryId | undefined => {
  if (!v || typeof v.clientId !== "string" || v.clientId === "" || v.clientId.length > 1024) return undefined;
  const { n, w } = v;
  return Number.isSafeInteger(n) && Number.isSafeInteger(w) && n >= 1 && w >= 0 && w < n ? { clientId: v.clientId, n, w } : undefined;
};

export class LedgerServer {
  readonly ledger: DeliveryLedger;
  private readonly running = new Map<string, () => void>();

  private constructor(private readonly http: Server, options: DeliveryLedgerOptions) {
    this.ledger = new DeliveryLedger(options);
    http.on("request", (req, res) => {
      const answer = (v?: unknown) => (v === undefined ? res.writeHead(204).end() : res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(v)));
      void body(req)
        .then(async (b) => {
          switch (req.url) {
            case "/begin": {
              const id = idOf(b);
              if (!id) return res.writeHead(400).end();
              let begun = false;
              void this.ledger
                .run(id, () => {
                  begun = true;
                  answer({ begin: true });
                  return new Promise<void>((done) => this.running.set(key(id), done));
                })
                .then((o) => { if (o.duplicate && !begun) answer({ begin: false }); });
              return;
            }
            case "/complete": {
              const id = idOf(b);
              const done = id && this.running.get(key(id));
              if (id) this.running.delete(key(id));
              done?.();
              return answer();
            }
            case "/handover":
              this.ledger.handOver(String(b.connectionId), idOf(b.pending));
              return answer();
            case "/take":
              return answer({ pending: (await this.ledger.takeHandover(String(b.connectionId))) ?? null });
            default:
              res.writeHead(404).end();
          }
        })
        .catch(() => res.writeHead(400).end());
    });
  }

  static async start(options: DeliveryLedgerOptions = {}): Promise<LedgerServer> {
    const s = new LedgerServer(createServer(), options);
    await listenLoopback(s.http);
    return s;
  }

  get url(): string {
    return loopbackUrl(this.http);
  }

  stop(): Promise<void> {
    return closeHttp(this.http);
  }
}
