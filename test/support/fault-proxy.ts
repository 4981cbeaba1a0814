/**
 * A TCP proxy in front of a real server that counts the bytes it forwards and injects the
 * faults a download meets on a real network: a connection cut part way through a response,
 * a connection that stalls (stays open, sends nothing), and HTTP 503 answers to chosen requests.
 * Faults are armed per connection as traffic crosses the configured thresholds.
 */
import { createServer, Server, Socket, connect } from "node:net";

export interface FaultPlan {
  /** Cut a connection once it has carried this many response bytes; `times` connections at most. */
  cutAfterBytes?: { bytes: number; times: number };
  /** Stop forwarding (but keep the connection open) after this many response bytes. */
  stallAfterBytes?: { bytes: number; times: number };
  /** Answer requests whose request line matches with 503 (and close), `times` at most. */
  fail503?: { match: RegExp; times: number };
}

export class FaultProxy {
  private server?: Server;
  private sockets = new Set<Socket>();
  port = 0;
  /** Bytes forwarded from the server to clients, in total. */
  bytesToClient = 0;
  cuts = 0;
  stalls = 0;
  injected503 = 0;
  plan: FaultPlan = {};

  constructor(
    private targetPort: number,
    private targetHost = "127.0.0.1",
  ) {}

  async start(): Promise<this> {
    this.server = createServer((client) => this.handle(client));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Counters back to zero and a new plan. */
  reset(plan: FaultPlan = {}): void {
    this.plan = plan;
    this.bytesToClient = this.cuts = this.stalls = this.injected503 = 0;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private track(s: Socket): Socket {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
    return s;
  }

  private handle(client: Socket): void {
    this.track(client);
    const upstream = this.track(connect(this.targetPort, this.targetHost));
    let carried = 0;
    let state: "open" | "cut" | "stalled" = "open";
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", () => upstream.destroy());
    // A server that closes after its answer (Connection: close) ends the client's side only once
    // everything forwarded has been written: destroying it at once dropped what was still queued.
    upstream.on("end", () => {
      if (state === "open") client.end();
    });
    upstream.on("close", () => {
      if (state !== "stalled" && !client.writableEnded) client.destroy();
    });

    client.on("data", (data: Buffer) => {
      const f = this.plan.fail503;
      const line = data.toString("latin1", 0, Math.min(data.length, 2048)).split("\r\n")[0] ?? "";
      if (f && f.times > this.injected503 && /^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(line) && f.match.test(line)) {
        this.injected503++;
        const body = "injected by the fault proxy";
        client.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        upstream.destroy();
        return;
      }
      upstream.write(data);
    });

    upstream.on("data", (data: Buffer) => {
      if (state !== "open") return;
      const cut = this.plan.cutAfterBytes;
      const stall = this.plan.stallAfterBytes;
      const limit = cut && cut.times > this.cuts ? cut.bytes : stall && stall.times > this.stalls ? stall.bytes : Infinity;
      if (carried + data.length < limit) {
        carried += data.length;
        this.bytesToClient += data.length;
        client.write(data);
        return;
      }
      const head = data.subarray(0, Math.max(0, limit - carried));
      carried += head.length;
      this.bytesToClient += head.length;
      upstream.pause();
      if (cut && cut.times > this.cuts) {
        this.cuts++;
        state = "cut";
        client.write(head, closeBoth);
      } else {
        this.stalls++;
        state = "stalled"; // hold everything: the client sees an open, silent connection
        client.write(head);
      }
    });
  }
}
