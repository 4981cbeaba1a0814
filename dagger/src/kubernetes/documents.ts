/**
 * The Kubernetes manifests as YAML documents: parsed with the `yaml` package's Document API so
 * that edits keep every comment, and checked for values that YAML 1.1 (what kubectl's parser
 * follows) reads differently from YAML 1.2 (what `yaml` follows), e.g. `yes`, `on`, `0755`.
 */
import { Document, parse, parseAllDocuments, Scalar } from "yaml";

/** One manifest file: its path (as shown in messages, e.g. `deployment.yaml`) and its text. */
export interface ManifestFile {
  path: string;
  text: string;
}

/** One non-empty YAML document of a manifest file. */
export interface ManifestDoc {
  file: string;
  /** 0-based position of the document in its file. */
  index: number;
  doc: Document;
  /** The document as plain data (YAML 1.2). */
  object: unknown;
}

/** A problem found in a manifest, shown as `file: Kind/name: message`. */
export interface Violation {
  file: string;
  /** `Kind/name`, or empty for problems that belong to the file or the set of files. */
  object: string;
  message: string;
}

export function formatViolation(v: Violation): string {
  return v.object ? `${v.file}: ${v.object}: ${v.message}` : `${v.file}: ${v.message}`;
}

/** Files with a name kubectl would read from a directory. */
export function isManifestFileName(name: string): boolean {
  return /\.(ya?ml|json)$/i.test(name);
}

export function describeObject(obj: unknown, index: number): string {
  const o = obj as { kind?: unknown; metadata?: { name?: unknown } } | null;
  const kind = typeof o?.kind === "string" ? o.kind : undefined;
  const name = typeof o?.metadata?.name === "string" ? o.metadata.name : undefined;
  if (!kind) return `document ${index + 1}`;
  return `${kind}/${name ?? "(no name)"}`;
}

/** Parses every file; YAML syntax errors come back as violations, empty documents are skipped. */
export function parseManifests(files: ManifestFile[]): { docs: ManifestDoc[]; violations: Violation[] } {
  const docs: ManifestDoc[] = [];
  const violations: Violation[] = [];
  for (const f of files) {
    const parsed = parseAllDocuments(f.text, { prettyErrors: true });
    if (!Array.isArray(parsed)) continue; // an empty stream
    parsed.forEach((doc, index) => {
      const error = doc.errors[0];
      if (error) {
        // The first error only: the ones after it are usually its echo.
        violations.push({ file: f.path, object: `document ${index + 1}`, message: `YAML syntax error: ${firstLine(error.message)}` });
        return;
      }
      const object = doc.toJS({ maxAliasCount: 100 });
      if (object === null || object === undefined) return; // `---` with nothing after it
      docs.push({ file: f.path, index, doc, object });
    });
  }
  return { docs, violations };
}

/**
 * Values whose meaning differs between YAML 1.2 and YAML 1.1. kubectl reads manifests with a
 * YAML 1.1 parser (go-yaml), so `version: on` is a string to us and `true` to kubectl.
 */
export function yaml11Mismatches(text: string): { index: number; path: string; yaml12: unknown; yaml11: unknown }[] {
  const out: { index: number; path: string; yaml12: unknown; yaml11: unknown }[] = [];
  const v12 = parseAllDocuments(text);
  const v11 = parseAllDocuments(text, { version: "1.1" });
  if (!Array.isArray(v12) || !Array.isArray(v11)) return out;
  v12.forEach((d, index) => {
    const d11 = v11[index];
    if (!d11 || d.errors.length || d11.errors.length) return;
    diffPaths(d.toJS(), d11.toJS(), "", (path, a, b) => out.push({ index, path, yaml12: a, yaml11: b }));
  });
  return out;
}

function diffPaths(a: unknown, b: unknown, path: string, report: (path: string, a: unknown, b: unknown) => void): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    a.forEach((x, i) => diffPaths(x, b[i], `${path}[${i}]`, report));
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const k of Object.keys(a)) diffPaths(a[k], b[k], path ? `${path}.${k}` : k, report);
    return;
  }
  if (!Object.is(a, b)) report(path, a, b);
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * A string scalar that every YAML reader takes as that string: double-quoted when a plain
 * scalar would read as something else under YAML 1.1 or 1.2 (`yes`, `on`, `1e3`, `0755`, `null`).
 */
export function stringScalar(value: string): Scalar<string> {
  const s = new Scalar(value);
  if (!readsBackAs(value, "1.2") || !readsBackAs(value, "1.1")) s.type = Scalar.QUOTE_DOUBLE;
  return s;
}

function readsBackAs(value: string, version: "1.1" | "1.2"): boolean {
  try {
    return parse(value, { version }) === value;
  } catch {
    return false;
  }
}

/** The document as text, with block sequences indented under their key as in k8s/. */
export function documentText(doc: Document): string {
  return doc.toString({ indentSeq: true, lineWidth: 0, flowCollectionPadding: false });
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim().replace(/:$/, "");
}
