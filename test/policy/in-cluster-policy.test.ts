/**
 * The in-cluster enforcement manifests (k8s/policy/, docs/in-cluster-verification.md), offline:
 * every object against the upstream CRD's schema at the pinned version (test/fixtures/crds/,
 * unknown fields refused as the API server prunes them), the policy's image glob against the
 * reference the pipeline deploys (the policy-controller's own glob rules), the files against each
 * other and against how the pipeline signs, and the renderer leaving the folder alone.
 * Nothing here talks to a cluster.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadManifestFiles } from "../../dagger/src/kubernetes/deploy.js";
import { CrdValidator, ManifestObject, readCrdFixtures, structural } from "../support/crd-schema.js";
import { IMAGE, renderShipped, shippedManifests } from "../support/kubernetes.js";
import { compileGlob, globMatches, referenceName } from "../support/policy-glob.js";
import { ROOT } from "../support/session.js";
import { parseAllDocuments } from "../support/yaml.js";

const POLICY_DIR = "k8s/policy";
const REGISTRY = "myacr.azurecr.io";
const SOURCE_REPOSITORY = "https://github.com/org/ai-app";
const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";

interface Doc {
  file: string;
  object: ManifestObject & Record<string, unknown>;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .sort()
    .flatMap((n) => {
      const rel = `${dir}/${n}`;
      if (statSync(join(ROOT, rel)).isDirectory()) return yamlFiles(rel);
      return /\.ya?ml$/.test(n) ? [rel] : [];
    });
}

function policyDocs(): Doc[] {
  return yamlFiles(POLICY_DIR).flatMap((file) =>
    parseAllDocuments(readFileSync(join(ROOT, file), "utf8"))
      .map((d) => {
        assert.equal(d.errors, [], `${file}: YAML errors`);
        return d.toJS() as Doc["object"] | null;
      })
      .filter((o): o is Doc["object"] => o !== null)
      .map((object) => ({ file, object })),
  );
}

const clone = <T>(v: T): T => structuredClone(v);
const one = (kind: string): Doc["object"] => {
  const found = policyDocs().filter((d) => d.object.kind === kind);
  assert.is(found.length, 1, `one ${kind} in ${POLICY_DIR}`);
  return found[0]!.object;
};

// Shapes of the objects, as far as the checks below read them.
interface Cip {
  spec: {
    mode?: string;
    images: { glob: string }[];
    authorities: {
      name?: string;
      key?: { secretRef?: { name?: string; namespace?: string }; data?: string };
      keyless?: unknown;
      ctlog?: unknown;
      attestations?: { name: string; predicateType: string; policy?: { type: string; data: string } }[];
    }[];
  };
}
interface RatifyVerifier {
  spec: { name: string; parameters: { trustPolicies: { scopes: string[]; keys: { provider: string }[]; tLogVerify?: boolean }[] } };
}

// ---- the schemas ----

test("in-cluster policy: every object under k8s/policy/ is a pinned CRD's kind, or the namespace", () => {
  const validator = new CrdValidator();
  const docs = policyDocs();
  assert.ok(docs.length >= 6, `${docs.length} objects`);
  const kinds = docs.map((d) => `${String(d.object.apiVersion)} ${String(d.object.kind)}`).sort();
  assert.equal(kinds, [
    "config.ratify.deislabs.io/v1beta1 KeyManagementProvider",
    "config.ratify.deislabs.io/v1beta1 Policy",
    "config.ratify.deislabs.io/v1beta1 Store",
    "config.ratify.deislabs.io/v1beta1 Verifier",
    "policy.sigstore.dev/v1beta1 ClusterImagePolicy",
    "v1 Namespace",
  ]);
  for (const d of docs) {
    if (d.object.kind === "Namespace") continue;
    assert.ok(validator.fixtureFor(d.object), `${d.file}: a fixture for ${String(d.object.apiVersion)} ${String(d.object.kind)}`);
  }
});

test("in-cluster policy: every custom resource validates against its CRD's openAPIV3Schema, unknown fields refused", () => {
  const validator = new CrdValidator();
  for (const d of policyDocs()) {
    if (d.object.kind === "Namespace") continue;
    assert.equal(validator.problems(d.object), [], d.file);
  }
});

test("in-cluster policy: the fixtures are the served versions of the pinned releases, with where they came from", () => {
  const fixtures = readCrdFixtures();
  const summary = fixtures.map(
    (f) => `${f.source.repository}@${f.source.tag} ${f.source.path} -> ${f.group}/${f.version} ${f.kind} (${f.scope})`,
  );
  assert.equal(summary, [
    "ratify-project/ratify@v1.4.0 charts/ratify/crds/keymanagementprovider-customresourcedefinition.yaml -> config.ratify.deislabs.io/v1beta1 KeyManagementProvider (Cluster)",
    "ratify-project/ratify@v1.4.0 charts/ratify/crds/policy-customresourcedefinition.yaml -> config.ratify.deislabs.io/v1beta1 Policy (Cluster)",
    "ratify-project/ratify@v1.4.0 charts/ratify/crds/store-customresourcedefinition.yaml -> config.ratify.deislabs.io/v1beta1 Store (Cluster)",
    "ratify-project/ratify@v1.4.0 charts/ratify/crds/verifier-customresourcedefinition.yaml -> config.ratify.deislabs.io/v1beta1 Verifier (Cluster)",
    "sigstore/policy-controller@v0.13.1 config/300-clusterimagepolicy.yaml -> policy.sigstore.dev/v1beta1 ClusterImagePolicy (Cluster)",
  ]);
  for (const f of fixtures) {
    assert.match(f.source.sha256, /^[0-9a-f]{64}$/, f.crd);
    assert.match(f.source.commit ?? "", /^[0-9a-f]{40}$/, f.crd);
    assert.is(f.openAPIV3Schema.type, "object", f.crd);
  }
});

// ---- each schema check objects to a broken copy ----

test("in-cluster policy: a misspelt field is refused (and the published schema alone, unknown fields open, would let it through)", () => {
  const cip = clone(one("ClusterImagePolicy")) as Doc["object"] & Cip;
  const authority = cip.spec.authorities[0]! as Record<string, unknown>;
  authority.keys = authority.key;
  delete authority.key;
  assert.equal(new CrdValidator().problems(cip), ["/spec/authorities/0: should NOT have additional properties (keys)"]);
  assert.equal(
    new CrdValidator(readCrdFixtures(), false).problems(cip),
    [],
    "why the schemas are closed: the CRD as published declares no additionalProperties",
  );

  const store = clone(one("Store"));
  store.sepc = store.spec;
  delete store.spec;
  assert.equal(new CrdValidator().problems(store), ["/: should NOT have additional properties (sepc)"]);

  const attestation = clone(one("ClusterImagePolicy")) as Doc["object"] & Cip;
  (attestation.spec.authorities[0]!.attestations![0]! as Record<string, unknown>).predicatetype = SLSA_PROVENANCE_V1;
  assert.match(
    new CrdValidator().problems(attestation).join("\n"),
    /attestations\/0: should NOT have additional properties \(predicatetype\)/,
  );
});

test("in-cluster policy: a wrong type, a missing required field, an unserved version and a bad name are refused", () => {
  const validator = new CrdValidator();
  const cip = clone(one("ClusterImagePolicy")) as Doc["object"] & Cip;
  (cip.spec.images[0] as Record<string, unknown>).glob = 42;
  assert.equal(validator.problems(cip), ["/spec/images/0/glob: should be string"]);

  const verifier = clone(one("Verifier")) as Doc["object"] & { spec: Record<string, unknown> };
  delete verifier.spec.artifactTypes;
  assert.equal(validator.problems(verifier), ["/spec: should have required property 'artifactTypes'"]);

  const v1 = clone(one("ClusterImagePolicy"));
  v1.apiVersion = "policy.sigstore.dev/v1";
  assert.match(validator.problems(v1).join("\n"), /policy\.sigstore\.dev\/v1 ClusterImagePolicy: no CRD fixture/);

  const named = clone(one("Policy"));
  named.metadata = { name: "Ratify_Policy", namespace: "ai-app" };
  assert.equal(validator.problems(named), [
    'metadata.name "Ratify_Policy" is not a DNS subdomain name',
    "metadata.namespace set on a cluster-scoped Policy",
  ]);
});

test("in-cluster policy: a field under x-kubernetes-preserve-unknown-fields stays allowed (the checks refuse only what the server would)", () => {
  const store = clone(one("Store")) as Doc["object"] & { spec: { parameters: Record<string, unknown> } };
  store.spec.parameters.someFutureSetting = { nested: true };
  assert.equal(new CrdValidator().problems(store), []);
  const closed = structural({ type: "object", properties: { a: { type: "object", "x-kubernetes-preserve-unknown-fields": true } } });
  assert.equal(closed.additionalProperties, false);
  assert.is((closed.properties as Record<string, Record<string, unknown>>).a!.additionalProperties, undefined);
});

// ---- the policy-controller's glob ----

test("policy glob: the port agrees with the policy-controller's own glob tests", () => {
  // A sample of pkg/apis/glob/glob_test.go (v0.13.1): image, glob, match.
  const cases: [string, string, boolean][] = [
    ["foo", "index.docker.io/library/foo:latest", true],
    ["foo", "index.docker.io/library/*", true],
    ["foo", "index.docker.io/**", true],
    ["foo", "foo", true],
    ["foo", "*", true],
    ["myuser/myapp", "index.docker.io/myuser/*", true],
    ["myuser/myapp", "*/*", true],
    ["ghcr.io/foo/bar", "ghcr.io/*/*", true],
    ["ghcr.io/foo", "ghcr.io/*/*", false],
    ["ghcr.io/foo", "ghcr.io/**", true],
    ["ghcr.io/foo", "*/**", true],
    ["prefix-ghcr.io/foo", "ghcr.io/foo", false],
    ["ghcr.io/foo-suffix", "ghcr.io/foo", false],
    ["ghcrxio/foo", "ghcr.io/**", false],
    [`ghcr.io/foo@sha256:${"5".repeat(64)}`, `ghcr.io/foo@sha256:${"5".repeat(64)}`, true],
  ];
  for (const [image, glob, want] of cases) assert.is(globMatches(glob, image), want, `${glob} ~ ${image}`);
  assert.throws(() => compileGlob(".+"), /invalid glob/);
  assert.throws(() => compileGlob("[a-z]*"), /invalid glob/);
  assert.throws(() => referenceName("invalid&name"));
});

test("policy glob: the ClusterImagePolicy covers the image the pipeline renders into the Deployment, by digest or by tag, and nothing of another registry", () => {
  const cip = one("ClusterImagePolicy") as Doc["object"] & Cip;
  const globs = cip.spec.images.map((i) => i.glob);
  assert.equal(globs, [`${REGISTRY}/ai-app**`]);
  const glob = globs[0]!;
  // What deploy renders: the Deployment's app container, by digest.
  const deployment = renderShipped()
    .flatMap((f) =>
      parseAllDocuments(f.text).map(
        (d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { image: string }[] } } } },
      ),
    )
    .find((o) => o?.kind === "Deployment");
  const rendered = deployment?.spec?.template?.spec?.containers?.map((c) => c.image) ?? [];
  assert.equal(rendered, [IMAGE]);
  assert.match(IMAGE, new RegExp(`^${REGISTRY.replaceAll(".", "\\.")}/ai-app@sha256:[0-9a-f]{64}$`));
  assert.ok(globMatches(glob, IMAGE), `${glob} ~ ${IMAGE}`);
  assert.ok(globMatches(glob, `${REGISTRY}/ai-app:main`), "a tag (the controller resolves it to a digest first)");
  assert.ok(globMatches(glob, `${REGISTRY}/ai-app`), "no tag: :latest");
  for (const other of [
    `otheracr.azurecr.io/ai-app@sha256:${"c".repeat(64)}`,
    `${REGISTRY}/other@sha256:${"c".repeat(64)}`,
    "ai-app:main",
  ]) {
    assert.not.ok(globMatches(glob, other), `${glob} !~ ${other}`);
  }
  // "*" would stop at "/": a glob written with one star still matches the flat repository name...
  assert.ok(globMatches(`${REGISTRY}/ai-app*`, IMAGE));
  // ...but not one a level down, which "**" does.
  assert.not.ok(globMatches(`${REGISTRY}/*`, `${REGISTRY}/team/ai-app:main`));
});

// ---- the files against each other and against how the pipeline signs ----

/**
 * What the ClusterImagePolicy must say to match how publish signs: enforce; one authority with the
 * pipeline's key from a Secret in the controller's namespace; no ctlog and no keyless (signed with
 * --tlog-upload=false: with a key and no ctlog the controller skips the log); an SLSA provenance v1
 * attestation whose Rego policy (v0 syntax, as cosign parses it) checks the source repository at
 * the field the pipeline's provenance writes it in.
 */
function cipProblems(cip: Cip): string[] {
  const found: string[] = [];
  if (cip.spec.mode !== "enforce") found.push(`mode ${String(cip.spec.mode)}, not enforce`);
  if (cip.spec.authorities.length !== 1) found.push(`${cip.spec.authorities.length} authorities, not 1`);
  const authority = cip.spec.authorities[0];
  if (!authority?.key?.secretRef?.name) found.push("not a key authority with a secretRef");
  if (authority?.key?.secretRef?.namespace !== undefined) found.push("secretRef.namespace set (the controller only reads its own)");
  if (authority?.ctlog !== undefined) found.push("a ctlog: the signatures are not in a transparency log (--tlog-upload=false)");
  if (authority?.keyless !== undefined) found.push("a keyless authority: the pipeline signs with a key");
  const provenance = (authority?.attestations ?? []).filter((a) => a.predicateType === SLSA_PROVENANCE_V1);
  if (provenance.length !== 1) found.push(`${provenance.length} ${SLSA_PROVENANCE_V1} attestations, not 1`);
  const policy = provenance[0]?.policy;
  if (policy?.type !== "rego") found.push(`provenance policy type ${String(policy?.type)}, not rego`);
  const code = (policy?.data ?? "").replace(/#.*$/gm, "");
  if (!/^package sigstore$/m.test(code)) found.push("no package sigstore (cosign queries data.sigstore.isCompliant)");
  if (!/^default isCompliant = false$/m.test(code)) found.push("isCompliant does not default to false");
  if (/\bif\b|\bcontains\b|import rego\.v1/.test(code)) found.push("Rego v1 keywords: cosign parses the policy as v0");
  if (!code.includes(`"${SOURCE_REPOSITORY}"`)) found.push(`does not name ${SOURCE_REPOSITORY}`);
  if (!code.includes("input.predicate.buildDefinition.externalParameters.source")) found.push("does not read externalParameters.source");
  return found;
}

test("in-cluster policy: the ClusterImagePolicy requires the key signature, no transparency log, and SLSA provenance from the repository", () => {
  const cip = one("ClusterImagePolicy") as Doc["object"] & Cip;
  assert.equal(cipProblems(cip), []);
});

test("in-cluster policy: a ClusterImagePolicy that checks the log, warns, or reads no provenance is caught (schema-valid all the same)", () => {
  const cip = one("ClusterImagePolicy") as Doc["object"] & Cip;
  const variants: [string, (c: Doc["object"] & Cip) => void, string][] = [
    ["ctlog", (c) => void (c.spec.authorities[0]!.ctlog = { url: "https://rekor.sigstore.dev" }), "a ctlog"],
    ["warn", (c) => void (c.spec.mode = "warn"), "mode warn"],
    ["cue", (c) => void (c.spec.authorities[0]!.attestations![0]!.policy!.type = "cue"), "not rego"],
    ["v1 rego", (c) => void (c.spec.authorities[0]!.attestations![0]!.policy!.data += "\nx if { true }\n"), "Rego v1"],
    ["no provenance", (c) => void (c.spec.authorities[0]!.attestations = []), "0 https://slsa.dev/provenance/v1 attestations"],
    [
      "other repo",
      (c) =>
        void (c.spec.authorities[0]!.attestations![0]!.policy!.data = c.spec.authorities[0]!.attestations![0]!.policy!.data.replaceAll(
          "org/ai-app",
          "org/other",
        )),
      "does not name",
    ],
  ];
  for (const [what, change, expected] of variants) {
    const copy = clone(cip);
    change(copy);
    assert.equal(new CrdValidator().problems(copy), [], `${what}: schema-valid`);
    assert.match(cipProblems(copy).join("\n"), expected, what);
  }
});

test("in-cluster policy: Ratify's objects reference each other and name the same registry as the ClusterImagePolicy", () => {
  const kmp = one("KeyManagementProvider") as Doc["object"] & {
    spec: { type: string; parameters: { contentType: string; value: string } };
  };
  const verifier = one("Verifier") as Doc["object"] & RatifyVerifier;
  const store = one("Store") as Doc["object"] & {
    spec: { name: string; parameters: { cosignEnabled: boolean; authProvider: { endpoints: string[] } } };
  };
  const policy = one("Policy") as Doc["object"] & {
    spec: { type: string; parameters: { artifactVerificationPolicies: Record<string, string> } };
  };
  assert.equal([kmp.spec.type, kmp.spec.parameters.contentType], ["inline", "key"]);
  assert.match(kmp.spec.parameters.value, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n?$/);
  assert.is(verifier.spec.name, "cosign");
  const [trust] = verifier.spec.parameters.trustPolicies;
  assert.equal(
    trust!.keys.map((k) => k.provider),
    [kmp.metadata!.name],
  );
  assert.is(trust!.tLogVerify, false, "signatures are not in Rekor");
  assert.equal(trust!.scopes, [`${REGISTRY}/ai-app*`]);
  assert.is(trust!.scopes[0]!.indexOf("*"), trust!.scopes[0]!.length - 1, "Ratify allows one wildcard, last");
  assert.equal([store.spec.name, store.spec.parameters.cosignEnabled], ["oras", true]);
  assert.equal(store.spec.parameters.authProvider.endpoints, [REGISTRY]);
  assert.is(policy.metadata!.name, "ratify-policy", "the only name v1beta1 accepts");
  assert.equal([policy.spec.type, policy.spec.parameters.artifactVerificationPolicies], ["config-policy", { default: "all" }]);
});

test("in-cluster policy: the namespace label opts ai-app in to the policy-controller's webhook", () => {
  const ns = one("Namespace");
  assert.is(ns.apiVersion, "v1");
  assert.is(ns.metadata?.name, "ai-app");
  assert.equal(ns.metadata?.labels, { "policy.sigstore.dev/include": "true" });
});

test("in-cluster policy: the Azure Policy definition loads Ratify's template from the pinned tag, for pods in ai-app, Deny by default", () => {
  const rules = JSON.parse(readFileSync(join(ROOT, POLICY_DIR, "azure-policy/ratify-verification.rules.json"), "utf8")) as {
    if: unknown;
    then: {
      effect: string;
      details: { templateInfo: { sourceType: string; url: string }; kinds: string[]; namespaces: string; excludedNamespaces: string };
    };
  };
  const params = JSON.parse(readFileSync(join(ROOT, POLICY_DIR, "azure-policy/ratify-verification.params.json"), "utf8")) as Record<
    string,
    { type: string; defaultValue: unknown; allowedValues?: string[] }
  >;
  assert.equal(rules.if, { field: "type", in: ["Microsoft.ContainerService/managedClusters"] });
  const { details } = rules.then;
  assert.equal(details.templateInfo, {
    sourceType: "PublicURL",
    url: "https://raw.githubusercontent.com/ratify-project/ratify/v1.4.0/library/default/template.yaml",
  });
  assert.equal(details.kinds, ["Pod"]);
  // Every [parameters('x')] the rules use is declared, and every declared one is used.
  const used = [...JSON.stringify(rules).matchAll(/\[parameters\('(\w+)'\)\]/g)].map((m) => m[1]!).sort();
  assert.equal(used, Object.keys(params).sort());
  assert.equal(params.effect?.defaultValue, "Deny");
  assert.equal(params.effect?.allowedValues, ["Deny", "Audit", "Disabled"]);
  assert.equal(params.namespaces?.defaultValue, ["ai-app"]);
});

// ---- the pipeline leaves them alone ----

test("in-cluster policy: the pipeline's renderer reads the top of k8s/ only, never k8s/policy/", async () => {
  const dir = join(ROOT, "k8s");
  const entries = readdirSync(dir).map((n) => (statSync(join(dir, n)).isDirectory() ? `${n}/` : n));
  assert.ok(entries.includes("policy/"), "k8s/policy/ is there (the check means something)");
  // A Directory as the engine answers it: directories end in "/".
  const fake = {
    entries: async () => entries,
    file: (path: string) => ({ contents: async () => readFileSync(join(dir, path), "utf8") }),
  } as unknown as Parameters<typeof loadManifestFiles>[0];
  const loaded = (await loadManifestFiles(fake)).map((f) => f.path);
  assert.equal(loaded, ["deployment.yaml", "pdb.yaml", "service.yaml"]);
  assert.equal(
    shippedManifests().map((f) => f.path),
    loaded,
  );
  const policyFiles = yamlFiles(POLICY_DIR).map((f) => relative("k8s", f));
  assert.ok(policyFiles.length >= 6);
  for (const f of policyFiles) assert.not.ok(loaded.includes(f), f);
});

test.run();
