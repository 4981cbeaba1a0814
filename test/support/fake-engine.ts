/**
 * A fake Dagger engine: an HTTP GraphQL endpoint on 127.0.0.1 that the real SDK talks to
 * (via DAGGER_SESSION_PORT / DAGGER_SESSION_TOKEN). It records every query, answers leaf
 * fields with synthetic values and hands out ids that stand for the chain that produced
 * them, so tests can read back the whole graph a function would send. It executes nothing:
 * what it proves is the shape of the graph, not that the graph runs.
 */
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo } from "node:net";
import { randomBytes, createHash } from "node:crypto";
import { FieldNode, Kind, parse, SelectionSetNode, valueFromASTUntyped } from "graphql";
import { closePatient, patient } from "./patient-server.js";

export interface Op {
  field: string;
  args: Record<string, unknown>;
}

/** One query the SDK sent: the chain of fields up to its leaf, ids already expanded to chains. */
export interface Recorded {
  query: string;
  chain: Op[];
}

/** Return `undefined` to let the engine answer with its default. */
export type Responder = (chain: Op[]) => unknown;

export interface FunctionCallSpec {
  parentName: string;
  name: string;
  parent?: Record<string, unknown>;
  inputArgs?: Record<string, unknown>;
}

export interface FakeEngineOptions {
  moduleName?: string;
  respond?: Responder;
  call?: FunctionCallSpec;
}

const ID_PREFIX = "fakeid:";
const CONTEXT_PREFIX = `${ID_PREFIX}context:`;

/** The id under which the fake engine hands out the module's context directory (what `defaultPath` loads). */
export function contextDirectoryId(path = "/"): string {
  return `${CONTEXT_PREFIX}${path}`;
}

const NAMED_PREFIX = `${ID_PREFIX}named:`;

/**
 * An id the fake engine resolves to a one-op chain `{field: kind, args: {name}}`: a stand-in for
 * an object the engine made before the call (e.g. a Secret given on the command line).
 */
export function namedObjectId(kind: string, name: string): string {
  return `${NAMED_PREFIX}${kind}:${name}`;
}

export class FakeEngine {
  readonly token = randomBytes(12).toString("hex");
  readonly recorded: Recorded[] = [];
  private server?: Server | undefined;
  private ids = new Map<string, Op[]>();
  private idsByKey = new Map<string, string>();
  private objectData = new Map<string, Record<string, unknown>>();
  port = 0;

  constructor(private opts: FakeEngineOptions = {}) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(
        (body) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        },
        (err: Error & { extensions?: Record<string, unknown> }) => {
          // A responder's error goes out as the engine's GraphQL error, extensions included
          // (e.g. an exec failure's EXEC_ERROR, from which the SDK builds its ExecError).
          const error = { message: err.message, ...(err.extensions ? { extensions: err.extensions } : {}) };
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ data: null, errors: [error] }));
        },
      );
    });
    patient(this.server);
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await closePatient(this.server);
    this.server = undefined;
  }

  /** Environment that points the SDK at this engine. */
  env(): Record<string, string> {
    return { DAGGER_SESSION_PORT: String(this.port), DAGGER_SESSION_TOKEN: this.token };
  }

  /** Mints (or reuses) the id that stands for `chain`; deterministic per chain. */
  idFor(chain: Op[], data?: Record<string, unknown>): string {
    const key = JSON.stringify(chain);
    let id = this.idsByKey.get(key);
    if (!id) {
      const type = chain.at(-1)?.field ?? "root";
      id = `${ID_PREFIX}${type}:${this.ids.size + 1}`;
      this.ids.set(id, chain);
      this.idsByKey.set(key, id);
    }
    if (data) this.objectData.set(id, data);
    return id;
  }

  /** The chain an id stands for. */
  chainOf(id: string): Op[] {
    const ctx = id.startsWith(CONTEXT_PREFIX) ? id.slice(CONTEXT_PREFIX.length) : undefined;
    if (ctx !== undefined)
      return [
        { field: "host", args: {} },
        { field: "directory", args: { path: `context:${ctx}` } },
      ];
    if (id.startsWith(NAMED_PREFIX)) {
      const [kind, ...name] = id.slice(NAMED_PREFIX.length).split(":");
      return [{ field: kind!, args: { name: name.join(":") } }];
    }
    const chain = this.ids.get(id);
    if (!chain) throw new Error(`fake engine: unknown id ${id}`);
    return chain;
  }

  isId(v: unknown): v is string {
    return typeof v === "string" && v.startsWith(ID_PREFIX);
  }

  private async handle(req: IncomingMessage): Promise<unknown> {
    const auth = req.headers.authorization ?? "";
    const expected = "Basic " + Buffer.from(this.token + ":").toString("base64");
    if (auth !== expected) throw new Error("fake engine: bad session token");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const { query } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { query: string };
    const doc = parse(query);
    const def = doc.definitions[0];
    if (!def || def.kind !== Kind.OPERATION_DEFINITION) throw new Error("fake engine: expected one operation");
    return { data: this.resolve([], def.selectionSet, query) };
  }

  private resolve(chain: Op[], sel: SelectionSetNode, query: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const s of sel.selections) {
      if (s.kind === Kind.INLINE_FRAGMENT) {
        Object.assign(out, this.resolve(chain, s.selectionSet, query));
        continue;
      }
      if (s.kind !== Kind.FIELD) throw new Error("fake engine: fragments are not supported");
      out[s.alias?.value ?? s.name.value] = this.field(chain, s, query);
    }
    return out;
  }

  private field(chain: Op[], node: FieldNode, query: string): unknown {
    const args: Record<string, unknown> = {};
    for (const a of node.arguments ?? []) args[a.name.value] = valueFromASTUntyped(a.value);
    const field = node.name.value;
    // node(id:) and load<Type>FromID(id:) both stand for the chain the id was minted for.
    const byId = field === "node" || /^load[A-Za-z]+FromID$/.test(field);
    const here: Op[] = byId ? this.chainOf(String(args.id)) : [...chain, { field, args }];
    if (node.selectionSet) {
      const answer = this.answer(here);
      if (Array.isArray(answer)) {
        return answer.map((item, i) => {
          const itemChain = [...here, { field: `#${i}`, args: {} }];
          this.idFor(itemChain, item as Record<string, unknown>);
          return this.resolve(itemChain, node.selectionSet!, query);
        });
      }
      return this.resolve(here, node.selectionSet, query);
    }
    this.recorded.push({ query, chain: here });
    return this.answer(here);
  }

  private answer(chain: Op[]): unknown {
    const custom = this.opts.respond?.(chain);
    if (custom !== undefined) return custom;
    return this.defaultAnswer(chain);
  }

  private defaultAnswer(chain: Op[]): unknown {
    const leaf = chain.at(-1)!;
    const parent = chain.slice(0, -1);
    const parentId = parent.length ? this.idsByKey.get(JSON.stringify(parent)) : undefined;
    const data = parentId ? this.objectData.get(parentId) : undefined;
    if (data && leaf.field in data) return data[leaf.field];

    const path = chain.map((o) => o.field).join(".");
    const call = this.opts.call;
    switch (path) {
      case "currentModule.name":
        return this.opts.moduleName ?? "ai-app-pipeline";
      case "currentFunctionCall.parentName":
        return call?.parentName ?? "";
      case "currentFunctionCall.name":
        return call?.name ?? "";
      case "currentFunctionCall.parent":
        return JSON.stringify(call?.parent ?? {});
      case "currentFunctionCall.inputArgs":
        return Object.entries(call?.inputArgs ?? {}).map(([name, v]) => ({ name, value: JSON.stringify(v) }));
    }
    switch (leaf.field) {
      case "id":
      case "sync":
      case "start":
      case "stop":
        return this.idFor(parent);
      case "exitCode":
      case "size":
        return 0;
      case "exists":
        return true;
      case "entries":
      case "glob":
        return [];
      case "publish": {
        const address = String(leaf.args.address ?? "");
        const repo = address.replace(/[:@][^/]*$/, "");
        return `${repo}@sha256:${createHash("sha256").update(JSON.stringify(parent)).digest("hex")}`;
      }
      case "digest":
        return `sha256:${createHash("sha256").update(JSON.stringify(parent)).digest("hex")}`;
      case "export":
        return String(leaf.args.path ?? "");
      case "endpoint":
        return "tcp://fake-service:1";
      case "hostname":
        return "fake-service";
      case "returnValue":
      case "returnError":
        return null;
      case "plaintext": {
        // A Secret made by setSecret reads back as what was set, as on a real engine.
        const set = parent.find((o) => o.field === "setSecret");
        return set ? String(set.args.plaintext ?? "") : "";
      }
      default:
        return "";
    }
  }

  // ---- reading the recorded graph -------------------------------------------------

  /** Every distinct chain that was sent, with ids inside arguments left as ids. */
  chains(): Op[][] {
    const seen = new Set<string>();
    const out: Op[][] = [];
    for (const r of this.recorded) {
      const k = JSON.stringify(r.chain);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(r.chain);
      }
    }
    return out;
  }

  /** Every op reachable from the recorded queries, following ids in arguments, each once. */
  allOps(): { op: Op; prefix: Op[] }[] {
    const out: { op: Op; prefix: Op[] }[] = [];
    const seen = new Set<string>();
    const visit = (chain: Op[]) => {
      chain.forEach((op, i) => {
        const prefix = chain.slice(0, i);
        const key = JSON.stringify([...prefix, op]);
        if (seen.has(key)) return;
        seen.add(key);
        out.push({ op, prefix });
        for (const v of flatValues(op.args)) if (this.isId(v)) visit(this.chainOf(v));
      });
    };
    for (const c of this.chains()) visit(c);
    return out;
  }

  /** Ops named `field`, with the chain that leads to each. */
  find(field: string): { op: Op; prefix: Op[] }[] {
    return this.allOps().filter((o) => o.op.field === field);
  }

  /** Human-readable chain, for failure messages: `container.from(...).withExec(...)`. */
  describe(chain: Op[]): string {
    return chain.map((o) => `${o.field}(${JSON.stringify(o.args)})`).join(".");
  }

  /** What the module returned through the entrypoint, if it did. */
  returned(): { value?: unknown; error?: string } {
    for (const r of this.recorded) {
      const leaf = r.chain.at(-1)!;
      if (leaf.field === "returnValue") return { value: JSON.parse(String(leaf.args.value)) };
      if (leaf.field === "returnError") {
        const errChain = this.chainOf(String(leaf.args.error));
        const msg = errChain.find((o) => o.field === "error")?.args.message;
        return { error: String(msg) };
      }
    }
    return {};
  }
}

function* flatValues(v: unknown): Generator<unknown> {
  if (Array.isArray(v)) for (const x of v) yield* flatValues(x);
  else if (v && typeof v === "object") for (const x of Object.values(v)) yield* flatValues(x);
  else yield v;
}
