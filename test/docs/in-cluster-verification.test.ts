/**
 * docs/in-cluster-verification.md against what it describes: every az command is one the CLI has
 * (the recorded table), the versions it pins are the ones the CRD fixtures come from, the files it
 * names exist, and the names it creates (the key Secret, the service accounts, the Helm values)
 * are the ones the manifests under k8s/policy/ reference.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { azCommandsIn, azPath, azProblems, azShellOf, readAzTable } from "../support/az-commands.js";
import { readCrdFixtures } from "../support/crd-schema.js";
import { ROOT } from "../support/session.js";
import { parse } from "../support/yaml.js";

const DOC = "docs/in-cluster-verification.md";
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const doc = () => read(DOC);
/** The page's bash blocks, line continuations joined. */
const bash = (md: string) =>
  [...md.matchAll(/^```bash\n([\s\S]*?)^```/gm)]
    .map((m) => m[1]!)
    .join("\n")
    .replace(/\\\n\s*/g, " ");
const azKnown = (md: string) => azCommandsIn(azShellOf(DOC, md)).flatMap((w) => azProblems(w, readAzTable()));

test("in-cluster doc: every az command and option is one the CLI has (test/fixtures/az-commands.json)", () => {
  const commands = azCommandsIn(azShellOf(DOC, doc()));
  assert.ok(commands.length >= 15, `${commands.length} az commands`);
  assert.equal(azKnown(doc()), []);
  const paths = new Set(commands.map(azPath));
  for (const p of ["policy definition create", "policy assignment create", "aks enable-addons", "identity federated-credential create"]) {
    assert.ok(paths.has(p), p);
  }
});

test("in-cluster doc: an az command or option the CLI does not have is caught", () => {
  const broken = doc().replace("--mode Microsoft.Kubernetes.Data", "--policy-mode Microsoft.Kubernetes.Data");
  assert.ok(broken !== doc());
  assert.equal(azKnown(broken), ["az policy definition create: no option --policy-mode"]);
  const unknown = doc().replace("az aks enable-addons", "az aks addon enable");
  assert.match(azKnown(unknown).join("\n"), /az aks addon enable: not a command in the recorded table/);
});

test("in-cluster doc: the chart and app versions it installs are the ones the CRD fixtures and the manifests name", () => {
  const text = doc();
  const tags = Object.fromEntries(readCrdFixtures().map((f) => [f.source.repository, f.source.tag]));
  assert.equal(tags, { "ratify-project/ratify": "v1.4.0", "sigstore/policy-controller": "v0.13.1" });
  assert.match(bash(text), /helm install policy-controller sigstore\/policy-controller --version 0\.10\.6 /);
  assert.match(bash(text), /helm install ratify ratify\/ratify --version 1\.15\.0 /);
  assert.ok(text.includes("chart `policy-controller` 0.10.6 (policy-controller v0.13.1)"));
  assert.ok(text.includes("chart `ratify` 1.15.0 (Ratify v1.4.0)"));
  assert.match(read("k8s/policy/sigstore/cluster-image-policy.yaml"), /chart policy-controller 0\.10\.6,\s*# policy-controller v0\.13\.1/);
  for (const f of ["key-management-provider", "verifier", "store", "policy"])
    assert.match(read(`k8s/policy/ratify/${f}.yaml`), /^# Ratify v1\.4\.0/, f);
  assert.match(read("k8s/policy/azure-policy/ratify-verification.rules.json"), /ratify\/v1\.4\.0\//);
});

test("in-cluster doc: the files it names exist, and it says nothing ran on a cluster", () => {
  const text = doc();
  const named = [...new Set([...text.matchAll(/\bk8s\/policy\/[\w./-]*[\w]/g)].map((m) => m[0]))];
  assert.ok(named.length >= 5, named.join(", "));
  for (const f of named) assert.ok(existsSync(join(ROOT, f)), `${f} exists`);
  assert.ok(existsSync(join(ROOT, "test/policy/in-cluster-policy.test.ts")));
  assert.match(text, /\*\*Status: nothing on this page was run on a cluster\.\*\*/);
});

test("in-cluster doc: the names it creates are the ones the manifests reference", () => {
  const commands = bash(doc());
  const cip = parse(read("k8s/policy/sigstore/cluster-image-policy.yaml")) as {
    spec: { images: { glob: string }[]; authorities: { key: { secretRef: { name: string } } }[] };
  };
  const secret = cip.spec.authorities[0]!.key.secretRef.name;
  assert.match(commands, new RegExp(`kubectl create secret generic ${secret} -n cosign-system --from-file=`));
  // Workload identities: the service accounts the charts create for these release names.
  assert.match(commands, /helm install policy-controller .*--namespace cosign-system/);
  assert.ok(commands.includes("--subject system:serviceaccount:cosign-system:policy-controller-webhook"));
  assert.match(commands, /helm install ratify .*--namespace gatekeeper-system/);
  assert.ok(commands.includes("--subject system:serviceaccount:gatekeeper-system:ratify"));
  // The Helm values make the chart create what k8s/policy/ratify/ holds.
  const verifier = parse(read("k8s/policy/ratify/verifier.yaml")) as { spec: { parameters: { trustPolicies: { scopes: string[] }[] } } };
  const store = parse(read("k8s/policy/ratify/store.yaml")) as { spec: { parameters: { authProvider: { endpoints: string[] } } } };
  const kmp = parse(read("k8s/policy/ratify/key-management-provider.yaml")) as { metadata: { name: string } };
  assert.ok(commands.includes(`--set "cosign.scopes[0]=${verifier.spec.parameters.trustPolicies[0]!.scopes[0]}"`));
  assert.ok(
    commands.includes(`--set "oras.authProviders.azureContainerRegistryEndpoints[0]=${store.spec.parameters.authProvider.endpoints[0]}"`),
  );
  assert.ok(commands.includes("--set cosign.tLogVerify=false"));
  assert.is(kmp.metadata.name, "ratify-cosign-inline-key-0", "the chart's name for cosignKeys[0] in a release named ratify");
  assert.ok(commands.includes('--set-file "cosignKeys[0]=./cosign.pub"'));
  // The Azure Policy files it passes.
  for (const f of [...commands.matchAll(/--(?:rules|params) (\S+)/g)].map((m) => m[1]!)) assert.ok(existsSync(join(ROOT, f)), f);
  assert.ok(cip.spec.images[0]!.glob.startsWith(store.spec.parameters.authProvider.endpoints[0]! + "/"));
});

test.run();
