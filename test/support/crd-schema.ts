/**
 * Validating custom resources offline against the upstream CRDs' schemas kept in
 * test/fixtures/crds/ (scripts/crd-schema-fixture.ts writes them), as the API server would:
 * the object's apiVersion must be a served version we hold, and its fields must fit that version's
 * openAPIV3Schema. A CRD schema is structural: the API server drops (prunes) a field the schema does
 * not declare unless `x-kubernetes-preserve-unknown-fields` keeps it, and `kubectl apply` with
 * server-side field validation refuses it. So here an undeclared field is an error: every object
 * schema (`type: object` or `properties`) with neither `additionalProperties` nor
 * `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false`, and the root always
 * allows apiVersion, kind and metadata (ObjectMeta, checked apart).
 */
import Ajv from "ajv";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CrdFixture as WrittenFixture } from "../../scripts/crd-schema-fixture.js";
import { ROOT } from "./session.js";

export const CRD_FIXTURES = "test/fixtures/crds";

type Schema = { [key: string]: unknown };

/** A fixture as scripts/crd-schema-fixture.ts writes it, its schema an object. */
export type CrdFixture = Omit<WrittenFixture, "openAPIV3Schema"> & { openAPIV3Schema: Schema };

export function readCrdFixtures(): CrdFixture[] {
  const dir = join(ROOT, CRD_FIXTURES);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as CrdFixture);
}

const isSchema = (v: unknown): v is Schema => !!v && typeof v === "object" && !Array.isArray(v);

/** The schema with unknown fields refused wherever the API server would prune them. */
export function structural(schema: Schema, root = true): Schema {
  const out: Schema = { ...schema };
  const props = isSchema(schema.properties) ? { ...schema.properties } : undefined;
  if (props) {
    for (const [k, v] of Object.entries(props)) if (isSchema(v)) props[k] = structural(v, false);
    out.properties = props;
  }
  if (root) {
    // What the API server handles itself: ObjectMeta is checked apart (CrdValidator.problems).
    out.properties = {
      ...(out.properties as Schema | undefined),
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
    };
  }
  if (isSchema(schema.items)) out.items = structural(schema.items, false);
  if (isSchema(schema.additionalProperties)) out.additionalProperties = structural(schema.additionalProperties, false);
  for (const k of ["allOf", "anyOf", "oneOf"]) {
    const list = schema[k];
    if (Array.isArray(list)) out[k] = list.map((s: unknown) => (isSchema(s) ? structural(s, false) : s));
  }
  const keepsUnknown = schema["x-kubernetes-preserve-unknown-fields"] === true;
  // An object schema that declares nothing and keeps nothing keeps no field at all.
  const isObject = out.properties !== undefined || schema.type === "object";
  if (isObject && !keepsUnknown && schema.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export interface ManifestObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, unknown> };
  spec?: unknown;
}

/** Checks objects against the fixtures; `strict: false` uses the schemas as published, unknown fields allowed. */
export class CrdValidator {
  // OpenAPI formats such as int64 are not JSON Schema's: ignored, as their warnings (logger).
  private readonly ajv = new Ajv({ allErrors: true, nullable: true, unknownFormats: "ignore", jsonPointers: true, logger: false });
  private readonly byType = new Map<string, { fixture: CrdFixture; validate: Ajv.ValidateFunction }>();

  constructor(
    readonly fixtures: CrdFixture[] = readCrdFixtures(),
    strict = true,
  ) {
    for (const f of fixtures) {
      const schema = strict ? structural(f.openAPIV3Schema) : f.openAPIV3Schema;
      this.byType.set(`${f.group}/${f.version} ${f.kind}`, { fixture: f, validate: this.ajv.compile(schema) });
    }
  }

  /** The fixture for an object's apiVersion and kind, if one is held. */
  fixtureFor(obj: ManifestObject): CrdFixture | undefined {
    return this.byType.get(`${String(obj.apiVersion)} ${String(obj.kind)}`)?.fixture;
  }

  /** What the API server would refuse in the object: an unserved or unknown type, a bad name, fields off the schema. */
  problems(obj: ManifestObject): string[] {
    const entry = this.byType.get(`${String(obj.apiVersion)} ${String(obj.kind)}`);
    if (!entry) {
      const held = [...this.byType.keys()].join(", ");
      return [`${String(obj.apiVersion)} ${String(obj.kind)}: no CRD fixture for this version and kind (held: ${held})`];
    }
    const found: string[] = [];
    const name = obj.metadata?.name;
    if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
      found.push(`metadata.name ${JSON.stringify(name)} is not a DNS subdomain name`);
    }
    if (entry.fixture.scope === "Cluster" && obj.metadata?.namespace !== undefined) {
      found.push(`metadata.namespace set on a cluster-scoped ${entry.fixture.kind}`);
    }
    if (!entry.validate(obj)) {
      for (const e of entry.validate.errors ?? []) {
        const extra = e.keyword === "additionalProperties" ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : "";
        found.push(`${e.dataPath || "/"}: ${e.message ?? e.keyword}${extra}`);
      }
    }
    return found;
  }
}
