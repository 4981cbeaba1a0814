/**
 * Validation of rendered manifests before anything touches a cluster: the Kubernetes schema
 * (kubernetes-models, the OpenAPI schemas of Kubernetes 1.3x) plus this pipeline's own rules.
 * Every problem is reported at once, each as `file: Kind/name: what is wrong`.
 */
import {
  describeObject,
  formatViolation,
  isPlainObject,
  ManifestDoc,
  ManifestFile,
  parseManifests,
  Violation,
  yaml11Mismatches,
} from "./documents.js";
import { digestRefProblem, parseImageRef } from "./image-ref.js";

/** The tag of the placeholder image in k8s/deployment.yaml. */
export const PLACEHOLDER_TAG = "set-by-the-pipeline";

/** What kubernetes-models' classes do (`validate()` throws with ajv's errors). */
interface SchemaModel {
  validate(): void;
}
type Models = Record<string, (data: object) => SchemaModel>;
const KNOWN = "Deployment, Service, PodDisruptionBudget";

let models: Promise<Models> | undefined;
/**
 * kubernetes-models is ESM-only (its `exports` offer only `import`), so it is loaded with a dynamic
 * import, which works wherever this module is loaded from (ESM in the Dagger runtime, CommonJS
 * under the test runner's require hook).
 */
function loadModels(): Promise<Models> {
  const make = (ctor: unknown) => (data: object) => new (ctor as new (d: object) => SchemaModel)(data);
  models ??= Promise.all([
    import("kubernetes-models/apps/v1/Deployment"),
    import("kubernetes-models/v1/Service"),
    import("kubernetes-models/policy/v1/PodDisruptionBudget"),
  ]).then(([d, s, p]) => ({
    "apps/v1 Deployment": make(d.Deployment),
    "v1 Service": make(s.Service),
    "policy/v1 PodDisruptionBudget": make(p.PodDisruptionBudget),
  }));
  return models;
}

export class ManifestValidationError extends Error {
  override name = "ManifestValidationError";
  constructor(readonly violations: Violation[], what = "the manifests") {
    super(`${what} failed validation (${violations.length} problem${violations.length === 1 ? "" : "s"}); nothing was applied:\n${violations.map((v) => `  ${formatViolation(v)}`).join("\n")}`);
  }
}

/** Every violation in `files` (YAML ambiguities, then each object's, then the set's); empty when they may be applied. */
export async function validateManifests(files: ManifestFile[], setName = "k8s"): Promise<Violation[]> {
  const schemas = await loadModels();
  const { docs, violations: syntax } = parseManifests(files);
  const violations = [...syntax];
  for (const f of files) {
    for (const m of yaml11Mismatches(f.text)) {
      const doc = docs.find((d) => d.file === f.path && d.index === m.index);
      violations.push({
        file: f.path,
        object: describeObject(doc?.object, m.index),
        message: `${m.path}: the unquoted value reads as ${JSON.stringify(m.yaml11)} for kubectl (YAML 1.1) but as ${JSON.stringify(m.yaml12)} in YAML 1.2: quote it`,
      });
    }
  }
  for (const d of docs) violations.push(...validateObject(d, schemas));
  // Whether the set is complete cannot be judged while a file does not even parse.
  if (!syntax.length) violations.push(...validateSet(docs, setName));
  return violations;
}

/** Throws `ManifestValidationError` listing every violation. */
export async function assertValidManifests(files: ManifestFile[], setName = "k8s"): Promise<void> {
  const violations = await validateManifests(files, setName);
  if (violations.length) throw new ManifestValidationError(violations, `the manifests in ${setName}/`);
}

function validateObject(d: ManifestDoc, schemas: Models): Violation[] {
  const object = describeObject(d.object, d.index);
  const at = (message: string): Violation => ({ file: d.file, object, message });
  if (!isPlainObject(d.object)) return [at("is not a Kubernetes object (expected a mapping with apiVersion and kind)")];
  const { apiVersion, kind } = d.object;
  const make = schemas[`${String(apiVersion)} ${String(kind)}`];
  if (!make) {
    return [at(`apiVersion ${String(apiVersion)} kind ${String(kind)} is not one this pipeline deploys (${KNOWN})`)];
  }
  const out: Violation[] = schemaViolations(make, d.object).map(at);
  const meta = isPlainObject(d.object.metadata) ? d.object.metadata : {};
  if (typeof meta.name !== "string" || !meta.name) out.push(at("metadata.name is missing"));
  if (kind === "Deployment") out.push(...deploymentRules(d.object).map(at));
  return out;
}

/** kubernetes-models' schema errors, as `path: message`. */
function schemaViolations(make: (data: object) => SchemaModel, data: Record<string, unknown>): string[] {
  try {
    make(data).validate();
    return [];
  } catch (e) {
    const errors = (e as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (!errors) return [`schema: ${(e as Error).message}`];
    return errors.map((err) => `schema: ${jsonPointerToPath(err.instancePath) || "(object)"}: ${err.message ?? "is invalid"}`);
  }
}

function jsonPointerToPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

/** This pipeline's rules for the app's Deployment. */
export function deploymentRules(deployment: Obj): string[] {
  const out: string[] = [];
  const spec = obj(deployment.spec);
  const podSpec = obj(obj(spec.template).spec);

  const replicas = spec.replicas;
  if (replicas === undefined) out.push("spec.replicas is not set (Kubernetes defaults to 1): run at least 2 so a restart or a node drain never takes the service down");
  else if (typeof replicas === "number" && replicas < 2) out.push(`spec.replicas is ${replicas}: run at least 2 so a restart or a node drain never takes the service down`);

  const strategy = obj(spec.strategy);
  if (strategy.type !== undefined && strategy.type !== "RollingUpdate") {
    out.push(`spec.strategy.type is ${String(strategy.type)}: use RollingUpdate with maxUnavailable 0 so the old pods serve until the new ones are ready`);
  } else {
    const maxUnavailable = obj(strategy.rollingUpdate).maxUnavailable;
    if (maxUnavailable !== 0 && maxUnavailable !== "0%") {
      out.push(`spec.strategy.rollingUpdate.maxUnavailable is ${maxUnavailable === undefined ? "not set (defaults to 25%)" : JSON.stringify(maxUnavailable)}: set it to 0 so no ready pod is removed before its replacement is ready`);
    }
  }

  const matchLabels = obj(obj(spec.selector).matchLabels);
  const podLabels = obj(obj(obj(spec.template).metadata).labels);
  if (!Object.keys(matchLabels).length || !selects(matchLabels, podLabels)) {
    out.push("spec.selector.matchLabels does not select the pod template's labels");
  }

  for (const hostField of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (podSpec[hostField] === true) out.push(`spec.template.spec.${hostField} is true: the app needs no host namespace`);
  }

  const podSecurity = obj(podSpec.securityContext);
  const volumes = list(podSpec.volumes);
  const containers = list(podSpec.containers);
  const initContainers = list(podSpec.initContainers);
  for (const c of [...containers, ...initContainers]) {
    const isInit = initContainers.includes(c);
    const where = `${isInit ? "init container" : "container"} ${String(c.name ?? "(no name)")}`;
    for (const m of containerRules(c, podSecurity, volumes, isInit)) out.push(`${where}: ${m}`);
  }
  return out;
}

function containerRules(c: Obj, podSecurity: Obj, volumes: Obj[], isInit: boolean): string[] {
  const out: string[] = [];
  const image = typeof c.image === "string" ? c.image : "";
  if (!image) out.push("image is not set");
  else if (parseImageRef(image)?.tag === PLACEHOLDER_TAG && !parseImageRef(image)?.digest) {
    out.push(`image "${image}" is the k8s/ placeholder: render the manifests with an image digest (dagger call manifests --image <repo>@sha256:...)`);
  } else {
    const problem = digestRefProblem(image);
    if (problem) out.push(problem);
  }

  if (!isInit) {
    if (!isPlainObject(c.livenessProbe)) out.push("livenessProbe is missing (the app serves GET /healthz)");
    if (!isPlainObject(c.readinessProbe)) out.push("readinessProbe is missing (the app serves GET /readyz)");
  }
  const resources = obj(c.resources);
  for (const kind of ["requests", "limits"] as const) {
    for (const r of ["cpu", "memory"]) {
      if (obj(resources[kind])[r] === undefined) out.push(`resources.${kind}.${r} is not set`);
    }
  }

  const sc = obj(c.securityContext);
  const effective = (k: string): unknown => (sc[k] !== undefined ? sc[k] : podSecurity[k]);
  if (effective("runAsNonRoot") !== true) out.push("runAsNonRoot is not true (set it in the pod or container securityContext)");
  const uid = effective("runAsUser");
  if (uid === undefined) out.push("runAsUser is not set: give the image's numeric non-root uid");
  else if (uid === 0) out.push("runAsUser is 0 (root)");
  if (sc.readOnlyRootFilesystem !== true) out.push("securityContext.readOnlyRootFilesystem is not true");
  if (sc.allowPrivilegeEscalation !== false) out.push("securityContext.allowPrivilegeEscalation is not false");
  if (sc.privileged === true) out.push("securityContext.privileged is true");
  const caps = obj(sc.capabilities);
  const drop = Array.isArray(caps.drop) ? caps.drop : [];
  if (!drop.includes("ALL")) out.push('securityContext.capabilities.drop does not include "ALL"');
  if (Array.isArray(caps.add) && caps.add.length) out.push(`securityContext.capabilities.add grants ${caps.add.join(", ")}: the app needs none`);
  const seccomp = obj(effective("seccompProfile")).type;
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
    out.push(`seccompProfile.type is ${seccomp === undefined ? "not set" : JSON.stringify(seccomp)}: use RuntimeDefault`);
  }

  if (sc.readOnlyRootFilesystem === true && !isInit) {
    const tmp = list(c.volumeMounts).find((m) => m.mountPath === "/tmp");
    const volume = tmp && volumes.find((v) => v.name === tmp.name);
    if (!tmp || !volume || !isPlainObject(volume.emptyDir)) {
      out.push("no emptyDir volume mounted at /tmp (the root filesystem is read-only; the app needs a scratch /tmp)");
    }
  }
  return out;
}

/** Rules over the whole set: one app Deployment, and Service/PDB selectors that select its pods. */
function validateSet(docs: ManifestDoc[], setName: string): Violation[] {
  const out: Violation[] = [];
  const objects = docs.filter((d) => isPlainObject(d.object)) as (ManifestDoc & { object: Obj })[];
  const deployments = objects.filter((d) => d.object.kind === "Deployment");
  if (deployments.length !== 1) {
    out.push({
      file: setName,
      object: "",
      message: deployments.length
        ? `holds ${deployments.length} Deployments (${deployments.map((d) => describeObject(d.object, d.index)).join(", ")}): the pipeline deploys exactly one`
        : "holds no Deployment: the pipeline deploys exactly one (the app)",
    });
  }
  const pods = deployments.map((d) => ({
    name: describeObject(d.object, d.index),
    labels: obj(obj(obj(obj(d.object.spec).template).metadata).labels),
    ports: list(obj(obj(obj(d.object.spec).template).spec).containers).flatMap((c) => list(c.ports)),
  }));
  for (const d of objects) {
    const object = describeObject(d.object, d.index);
    const spec = obj(d.object.spec);
    if (d.object.kind === "Service") {
      const selector = obj(spec.selector);
      const target = pods.find((p) => Object.keys(selector).length > 0 && selects(selector, p.labels));
      if (!target) {
        out.push({ file: d.file, object, message: `spec.selector ${JSON.stringify(selector)} selects the pods of no Deployment in ${setName}/` });
        continue;
      }
      for (const port of list(spec.ports)) {
        const tp = port.targetPort;
        if (typeof tp === "string" && !target.ports.some((p) => p.name === tp)) {
          out.push({ file: d.file, object, message: `port ${String(port.name ?? port.port)}: targetPort "${tp}" is not a named port of ${target.name}` });
        }
      }
    }
    if (d.object.kind === "PodDisruptionBudget") {
      const selector = obj(obj(spec.selector).matchLabels);
      if (!Object.keys(selector).length || !pods.some((p) => selects(selector, p.labels))) {
        out.push({ file: d.file, object, message: `spec.selector.matchLabels ${JSON.stringify(selector)} selects the pods of no Deployment in ${setName}/` });
      }
    }
  }
  return out;
}

function selects(selector: Obj, labels: Obj): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
