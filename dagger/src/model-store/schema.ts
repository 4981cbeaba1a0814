/**
 * The model.json JSON Schema (model.schema.json beside this file), the contract the trainer and
 * the app check too, compiled once with ajv. Problems read "<field> <what it must be>": each
 * schema's `description` is written as that message, so the three sides explain alike.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import { shown } from "./printable.js";

/**
 * Read at run time, next to this module: under tsx that is src/model-store, in the model-store
 * container dist/model-store, where the transpile step copies it (step.ts TRANSPILE).
 */
export const SCHEMA_FILE_NAME = "model.schema.json";
export const SCHEMA_URL = new URL(`./${SCHEMA_FILE_NAME}`, import.meta.url);

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
}

const schema = JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as object;
// strict: a keyword ajv does not know, or a pattern it cannot compile, is an error here, not a silent pass.
const validate = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);

/** One way a document breaks the schema: the field (e.g. files[0].sha256) and what it must be. */
export interface SchemaProblem {
  field: string;
  text: string;
}

/** Every way `data` breaks the schema; empty when it conforms. */
export function schemaProblems(data: unknown): SchemaProblem[] {
  if (validate(data)) return [];
  // An item failing `contains` is no fault of its own (ajv lists why anyway): `contains` says what is missing.
  return (validate.errors ?? []).filter((e) => !e.schemaPath.includes("/contains/")).map((e) => problem(e, data));
}

function problem(e: ErrorObject, root: unknown): SchemaProblem {
  const parent = e.parentSchema as SchemaNode | undefined;
  const field = fieldName(e.instancePath, root);
  if (e.keyword === "required") {
    const missing = String(e.params.missingProperty);
    const what = parent?.properties?.[missing]?.description;
    return { field: join(field, missing), text: what ? `is missing; it ${what}` : "is missing" };
  }
  const got = e.data === null || ["string", "number", "boolean"].includes(typeof e.data) ? ` (got ${shown(e.data)})` : "";
  return { field: field || "model.json", text: `${parent?.description ?? e.message ?? "is invalid"}${got}` };
}

/** A JSON Pointer into `root` as a reader writes it: files[0].sha256. */
function fieldName(pointer: string, root: unknown): string {
  let field = "";
  let node = root;
  for (const raw of pointer.split("/").slice(1)) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    field = Array.isArray(node) ? `${field}[${key}]` : join(field, key);
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return field;
}

/** `parent.key`, quoting a key that is not a plain word. */
function join(parent: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${shown(key)}]`;
  return parent && !part.startsWith("[") ? `${parent}.${part}` : `${parent}${part}`;
}
