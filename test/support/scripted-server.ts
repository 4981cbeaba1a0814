/** Scripted HTTP servers on 127.0.0.1 (redirects, hostile token endpoints) that record what they receive. */
import { createServer, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { closePatient, patient } from "./patient-server.js";

/** One request as a scripted server received it. */
export interface SeenRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  address: string;
  port: number;
  /** Everything received, in order. */
  requests: SeenRequest[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on a free 127.0.0.1 port that records every request (headers and body) and
 * answers it with `answer` (e.g. a 401 challenge, a 307 elsewhere, a token).
 */
export async function startScriptedServer(
  answer: (req: SeenRequest, res: ServerResponse, self: ScriptedServer) => void,
): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const self = { requests } as ScriptedServer;
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "/",
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      answer(seen, res, self);
    })().catch(() => res.destroy());
  });
  patient(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  Object.assign(self, {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    async stop() {
      await closePatient(server);
    },
  });
  return self;
}

/** Answers with a status, headers and an optional JSON body. */
export function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}, body?: unknown): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, {
    ...(body === undefined ? {} : { "content-type": "application/json" }),
    ...headers,
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
