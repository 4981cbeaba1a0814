/**
 * One model.json contract: every shared fixture (test/fixtures/model-json) goes through the
 * store's validator (parseManifest), the app's (scoring.model.load_manifest) and the trainer's
 * (train.manifest_problems); all three accept the valid ones and refuse the invalid ones, naming
 * the field at fault. model/tests/test_model_json_contract.py runs the same fixtures from Python.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseManifest } from "../../dagger/src/model-store/manifest.js";
import { SCHEMA_URL } from "../../dagger/src/model-store/schema.js";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURES = join(ROOT, "test/fixtures/model-json");
/** Invalid fixture -> the field its refusal must name (null: refused before any field is read, e.g. not JSON). */
const FIELDS = JSON.parse(readFileSync(join(FIXTURES, "invalid-fields.json"), "utf8")) as Record<string, string | null>;

type Verdict = { ok: true } | { ok: false; message: string };
type Side = "store" | "app" | "trainer";

function fixtures(kind: "valid" | "invalid"): string[] {
  return readdirSync(join(FIXTURES, kind))
    .filter((f) => f.endsWith(".json"))
    .sort();
}

function storeVerdict(path: string): Verdict {
  try {
    parseManifest(readFileSync(path), "model.json");
    return { ok: true };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

/** The app and the trainer, in one Python process: path -> {app, trainer} verdicts. */
const PYTHON_SIDES = `
import json, sys
from pathlib import Path
sys.path[:0] = ["model", "app"]
import train
from scoring.model import ModelError, load_manifest

def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")

def app(path):
    try:
        load_manifest(Path(path))
        return {"ok": True}
    except ModelError as exc:
        return {"ok": False, "message": str(exc)}

def trainer(path):
    # The trainer never reads model.json: it checks the manifest it is about to write, and
    # writes strict UTF-8 JSON, so bytes it could not have produced count as refused.
    try:
        manifest = json.loads(Path(path).read_bytes().decode("utf-8"), parse_constant=refuse_constant)
    except ValueError as exc:
        return {"ok": False, "message": f"cannot be written by the trainer: {exc}"}
    problems = train.manifest_problems(manifest)
    return {"ok": True} if not problems else {"ok": False, "message": "; ".join(problems)}

print(json.dumps({p: {"app": app(p), "trainer": trainer(p)} for p in sys.argv[1:]}))
`;

function pythonVerdicts(paths: string[]): Record<string, Record<"app" | "trainer", Verdict>> {
  const out = execFileSync(join(ROOT, ".venv/bin/python"), ["-c", PYTHON_SIDES, ...paths], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  return JSON.parse(out) as Record<string, Record<"app" | "trainer", Verdict>>;
}

function allVerdicts(kind: "valid" | "invalid"): [string, Record<Side, Verdict>][] {
  const names = fixtures(kind);
  const paths = names.map((n) => join(FIXTURES, kind, n));
  const python = pythonVerdicts(paths);
  return names.map((n, i) => [n, { store: storeVerdict(paths[i]!), ...python[paths[i]!]! }]);
}

test("there are fixtures of both kinds, and every invalid one says which field its refusal names", () => {
  assert.ok(fixtures("valid").length >= 5, "valid fixtures");
  assert.ok(fixtures("invalid").length >= 40, "invalid fixtures");
  assert.equal(Object.keys(FIELDS).sort(), fixtures("invalid"));
});

test("the store, the app and the trainer accept every valid fixture", () => {
  for (const [name, verdicts] of allVerdicts("valid")) {
    for (const [side, v] of Object.entries(verdicts)) assert.ok(v.ok, `${side} refused valid/${name}: ${v.ok ? "" : v.message}`);
  }
});

test("the store, the app and the trainer refuse every invalid fixture, each naming the field at fault", () => {
  for (const [name, verdicts] of allVerdicts("invalid")) {
    const field = FIELDS[name];
    for (const [side, v] of Object.entries(verdicts)) {
      assert.not.ok(v.ok, `${side} accepted invalid/${name}`);
      const names = (m: string) => m.includes(`${field} `) || m.includes(`${field}:`);
      if (!v.ok && field) assert.ok(names(v.message), `${side} on invalid/${name} does not name ${field}: ${v.message}`);
      if (!v.ok)
        assert.not.match(v.message.replace(/\n/g, " "), /[\p{Cc}\p{Cf}\p{Cs}]/u, `${side} on invalid/${name}: raw control character`);
    }
  }
});

/** Keywords that can fail (the rest only annotate or apply subschemas). */
const ASSERTIONS = [
  "type",
  "const",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "required",
  "not",
  "contains",
];

test("every schema that can fail has a description, the message each side shows", () => {
  const missing: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${at}/${i}`));
    const obj = node as Record<string, unknown>;
    // Failures inside `not` and `contains` are reported at their holder, which has the description.
    const fails = ASSERTIONS.some((k) => k in obj) && !at.endsWith("/not") && !at.includes("/contains/");
    if (fails && typeof obj.description !== "string") missing.push(at || "/");
    for (const [k, v] of Object.entries(obj)) if (k !== "const" && k !== "enum") walk(v, `${at}/${k}`);
  };
  walk(JSON.parse(readFileSync(SCHEMA_URL, "utf8")), "");
  assert.equal(missing, []);
});

test.run();
