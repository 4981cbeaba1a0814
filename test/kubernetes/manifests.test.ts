/**
 * Rendering and validating the shipped k8s/ (pure TypeScript, real files): the image by digest,
 * the namespace, the annotations, comments kept, values every YAML reader agrees on.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse, parseAllDocuments } from "yaml";
import { documentText, formatViolation, ManifestFile, yaml11Mismatches } from "../../dagger/src/kubernetes/documents.js";
import { digestRefProblem, parseImageRef } from "../../dagger/src/registry/names.js";
import { IMAGE_LABELS } from "../../dagger/src/app-image/labels.js";
import {
  ANNOTATIONS,
  imageMetadataFromLabels,
  renderAnnotations,
  renderManifests,
  RenderError,
} from "../../dagger/src/kubernetes/render.js";
import { validateManifests } from "../../dagger/src/kubernetes/validate.js";
import { imageLabels } from "../../dagger/src/app-image/image.js";
import { APP_PORT, APP_UID } from "../../dagger/src/images.js";
import { DIGEST, IMAGE, MODEL, REVISION, renderShipped as render, shippedManifests } from "../support/kubernetes.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests walk untyped YAML objects by path
type Obj = Record<string, any>;
const objects = (files: ManifestFile[]): Obj[] =>
  files.flatMap((f) => (parseAllDocuments(f.text) as { toJS(): Obj }[]).map((d) => d.toJS()));
const byKind = (files: ManifestFile[], kind: string): Obj => objects(files).find((o) => o.kind === kind)!;

test("k8s/ holds a Deployment, a LoadBalancer Service and a PodDisruptionBudget, and no namespace", () => {
  const files = shippedManifests();
  assert.equal(
    files.map((f) => f.path),
    ["deployment.yaml", "pdb.yaml", "service.yaml"],
  );
  const objs = objects(files);
  assert.equal(objs.map((o) => o.kind).sort(), ["Deployment", "PodDisruptionBudget", "Service"]);
  for (const o of objs) assert.is(o.metadata.namespace, undefined, `${o.kind} hard-codes a namespace`);
  const svc = byKind(files, "Service");
  assert.is(svc.spec.type, "LoadBalancer");
  assert.equal(svc.spec.ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
});

test("the shipped Deployment is what the issue asks for", () => {
  const d = byKind(shippedManifests(), "Deployment");
  const pod = d.spec.template.spec;
  const app = pod.containers[0];
  assert.ok(d.spec.replicas >= 2);
  assert.equal(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
  assert.is(app.livenessProbe.httpGet.path, "/healthz");
  assert.is(app.readinessProbe.httpGet.path, "/readyz");
  assert.equal(app.ports, [{ name: "http", containerPort: APP_PORT, protocol: "TCP" }]);
  assert.ok(app.resources.requests.cpu && app.resources.requests.memory && app.resources.limits.cpu && app.resources.limits.memory);
  assert.equal(pod.securityContext, {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.equal(app.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ["ALL"] },
  });
  assert.equal(app.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
  assert.ok(pod.volumes.find((v: Obj) => v.name === "tmp").emptyDir);
});

test("unrendered, k8s/ fails validation on its placeholder image only", async () => {
  assert.equal((await validateManifests(shippedManifests())).map(formatViolation), [
    'deployment.yaml: Deployment/ai-app: container app: image "ai-app:set-by-the-pipeline" is the k8s/ placeholder: render the manifests with an image digest (dagger call manifests --image <repo>@sha256:...)',
  ]);
});

test("rendered, k8s/ passes validation", async () => {
  assert.equal(await validateManifests(render()), []);
  assert.equal(await validateManifests(render({ metadata: {} })), []);
});

test("render sets the image by digest, the namespace everywhere, and the annotations on Deployment and pod template", () => {
  const files = render();
  for (const o of objects(files)) assert.is(o.metadata.namespace, "ai-app", o.kind);
  const d = byKind(files, "Deployment");
  assert.is(d.spec.template.spec.containers[0].image, IMAGE);
  const expected = {
    [ANNOTATIONS.image]: IMAGE,
    [ANNOTATIONS.revision]: REVISION,
    [ANNOTATIONS.modelName]: MODEL.name,
    [ANNOTATIONS.modelVersion]: MODEL.version,
    [ANNOTATIONS.modelSha256]: MODEL.sha256,
  };
  assert.equal(d.spec.template.metadata.annotations, expected);
  assert.equal(d.metadata.annotations, {
    ...expected,
    "kubernetes.io/change-cause": `ai-app-pipeline deployed ${IMAGE}, model ${MODEL.name} ${MODEL.version}, revision ${REVISION}`,
  });
  assert.is(d.spec.replicas, 2, "replicas untouched unless asked");
  assert.is(byKind(render({ replicas: 4 }), "Deployment").spec.replicas, 4);
});

test("a new model changes the pod template (so the pods roll), the same inputs render the same text", () => {
  const a = byKind(render(), "Deployment").spec.template;
  const b = byKind(
    render({ metadata: { revision: REVISION, model: { ...MODEL, version: "1.5.0", sha256: "e".repeat(64) } } }),
    "Deployment",
  ).spec.template;
  assert.not.equal(a, b);
  assert.equal(render(), render());
});

test("comments survive rendering, and the rendered text round-trips through yaml unchanged", () => {
  for (const [src, out] of shippedManifests().map((f, i) => [f, render()[i]!] as const)) {
    const comments = src.text
      .split("\n")
      .filter((l) => l.trim().startsWith("#"))
      .map((l) => l.trim());
    assert.ok(comments.length > 0, `${src.path} has comments`);
    for (const c of comments) assert.ok(out.text.includes(c), `${src.path}: lost comment ${c}`);
    const reparsed = parseAllDocuments(out.text) as Parameters<typeof documentText>[0][];
    assert.is(reparsed.map(documentText).join(""), out.text, `${src.path} is not stable under parse + stringify`);
  }
  // Only the rendered values changed: same lines otherwise.
  const before = shippedManifests()[0]!.text.split("\n").length;
  const after = render()[0]!.text.split("\n").length;
  assert.ok(after - before < 20, `deployment.yaml grew by ${after - before} lines`);
});

test("values YAML 1.1 would misread are quoted, so kubectl and yaml read the same strings", () => {
  const files = render({ namespace: "on", metadata: { revision: "1e10", model: { name: "yes", version: "0755", sha256: MODEL.sha256 } } });
  for (const f of files) assert.equal(yaml11Mismatches(f.text), [], f.path);
  const d = byKind(files, "Deployment");
  assert.is(d.metadata.namespace, "on");
  assert.is(d.metadata.annotations[ANNOTATIONS.revision], "1e10");
  assert.is(parse(files[0]!.text, { version: "1.1" }).metadata.annotations[ANNOTATIONS.modelName], "yes");
});

test("render refuses what it cannot render", () => {
  assert.throws(() => render({ namespace: "Prod_1" }), /namespace "Prod_1" is not a valid namespace name/);
  assert.throws(() => render({ replicas: 1.5 }), /replicas must be a whole number/);
  assert.throws(
    () => render({ container: "web" }),
    (e: Error) => e instanceof RenderError && /no Deployment with a container named "web"/.test(e.message),
  );
  assert.throws(
    () => renderManifests([{ path: "bad.yaml", text: "a: [" }], { image: IMAGE, namespace: "x" }),
    /bad\.yaml: document 1: YAML syntax error/,
  );
});

test("an image rendered by tag is caught by validation, with the file and object named", async () => {
  const files = render({ image: "myacr.azurecr.io/ai-app:main" });
  assert.equal((await validateManifests(files)).map(formatViolation), [
    'deployment.yaml: Deployment/ai-app: container app: image "myacr.azurecr.io/ai-app:main" is referenced by tag only: deploy by digest (repo@sha256:...), a tag can move',
  ]);
});

test("image references: digest only, any registry, no latest", () => {
  assert.equal(parseImageRef(IMAGE), { repository: "myacr.azurecr.io/ai-app", digest: DIGEST });
  assert.equal(parseImageRef(`registry:5000/team/ai-app:1.0@${DIGEST}`), {
    repository: "registry:5000/team/ai-app",
    tag: "1.0",
    digest: DIGEST,
  });
  assert.is(digestRefProblem(IMAGE), undefined);
  assert.is(digestRefProblem(`localhost:5000/ai-app@${DIGEST}`), undefined);
  assert.match(digestRefProblem("ai-app:1.0")!, /referenced by tag only/);
  assert.match(digestRefProblem(`ai-app:latest@${DIGEST}`)!, /uses the tag "latest"/);
  assert.match(digestRefProblem(`ai-app@sha256:${"C".repeat(64)}`)!, /malformed digest/);
  assert.match(digestRefProblem("Bad Image")!, /not a valid image reference/);
});

test("image metadata comes from the labels the build step writes", () => {
  const manifest = { name: MODEL.name, version: MODEL.version, files: [{ path: "model.onnx", sha256: "f".repeat(64), size: 4 }] };
  const labels = imageLabels(manifest as never, { revision: REVISION });
  const meta = imageMetadataFromLabels({
    revision: labels[IMAGE_LABELS.revision],
    modelName: labels[IMAGE_LABELS.modelName],
    modelVersion: labels[IMAGE_LABELS.modelVersion],
    modelSha256: labels[IMAGE_LABELS.modelSha256],
  });
  assert.is(meta.revision, REVISION);
  assert.is(meta.model?.name, MODEL.name);
  assert.is(meta.model?.version, MODEL.version);
  assert.match(meta.model?.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(imageMetadataFromLabels({ revision: "abc", modelName: "", modelVersion: "1.0.0", modelSha256: "" }), { revision: "abc" });
});

test("a verified model's signer travels from the image label to the Deployment's annotations; none without a model", () => {
  const signer = `key sha256:${"a".repeat(64)}`;
  const meta = imageMetadataFromLabels({
    modelName: MODEL.name,
    modelVersion: MODEL.version,
    modelSha256: "f".repeat(64),
    modelSigner: signer,
  });
  assert.is(meta.signer, signer);
  assert.is(renderAnnotations(`r/ai-app@${DIGEST}`, meta)[ANNOTATIONS.modelSigner], signer);
  assert.not.ok(
    ANNOTATIONS.modelSigner in renderAnnotations(`r/ai-app@${DIGEST}`, { model: meta.model! }),
    "unsigned: no signer annotation",
  );
  assert.equal(imageMetadataFromLabels({ modelSigner: signer }), {}, "a signer without a model is not metadata");
});

test.run();
