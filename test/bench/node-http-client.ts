// An experiment for section 6, not a recommendation as it stands: @microsoft/signalr's HttpClient
// on node:http with a keep-alive agent, in place of the default one on Node (fetch through
// fetch-cookie and tough-cookie). It has no cookie jar (no ARR affinity cookies); the point is
// to show what the client's HTTP stack costs in each negotiate.
import { Agent, request } from "node:http";
import { HttpClient, HttpError, HttpResponse, type HttpRequest } from "@microsoft/signalr";

const agent = new Agent({ keepAlive: true });

export class NodeHttpClient extends HttpClient {
  send(r: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const req = request(r.url!, { method: r.method, headers: r.headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          const status = res.statusCode ?? 0;
          if (status < 200 || status >= 300) return reject(new HttpError(res.statusMessage ?? "", status));
          const content = r.responseType === "arraybuffer" ? body.buffer.slice(body.byteOffset, body.byteOffset + body.length) : body.toString("utf8");
          resolve(new HttpResponse(status, res.statusMessage ?? "", content));
        });
      });
      req.on("error", reject);
      if (r.abortSignal) r.abortSignal.onabort = () => req.destroy(new Error("The request was aborted."));
      req.end(r.content as string | Buffer | undefined);
    });
  }
}
