/** An HTTP proxy that answers chosen requests with error statuses (429, 503...) before forwarding. */
import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { closePatient, patient } from "./patient-server.js";

/**
 * A proxy in front of `target` that answers the first requests with the statuses in `faults`
 * (e.g. [429, 503]) and forwards everything after that. `seen` counts requests received.
 */
export async function startFaultProxy(target: string, faults: number[], retryAfter?: string) {
  const plan = [...faults];
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    const fault = plan.shift();
    if (fault !== undefined) {
      res.writeHead(fault, { "content-type": "application/json", ...(retryAfter ? { "retry-after": retryAfter } : {}) });
      return res.end(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "injected" }] }));
    }
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k)),
      ) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const up = await fetch(target + (req.url ?? "/"), {
        method: req.method ?? "GET",
        headers,
        ...(body ? { body: new Uint8Array(body) } : {}),
        redirect: "manual",
      });
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!["content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v;
      });
      res.writeHead(up.status, out);
      res.end(Buffer.from(await up.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  patient(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get seen() {
      return seen;
    },
    async stop() {
      await closePatient(server);
    },
  };
}
