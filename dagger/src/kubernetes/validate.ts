/**
 * Validation of rendered manifests before anything touches a cluster: the Kubernetes schema
 * (kubernetes-models, the OpenAPI schemas of Kubernetes 1.3x), every control of the Pod
 * Security Standards' restricted profile (baseline included), and this pipeline's own rules
 * (non-root groups, no service account token, no sysctls, no Service externalIPs, rollout
 * safety, probes and resources). Every problem is reported at once, each as
 * `file: Kind/name: what is wrong`.
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
import { digestRefProblem, parseImageRef } from "../registry/names.js";

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
  constructor(
    readonly violations: Violation[],
    what = "the manifests",
  ) {
    super(
      `${what} failed validation (${violations.length} problem${violations.length === 1 ? "" : "s"}); nothing was applied:\n${violations.map((v) => `  ${formatViolation(v)}`).join("\n")}`,
    );
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
  if (kind === "Service") out.push(...serviceRules(d.object).map(at));
  return out;
}

/** A Service publishes the app through its own address or load balancer, never claimed external IPs. */
export function serviceRules(service: Obj): string[] {
  const externalIPs = obj(service.spec).externalIPs;
  if (!Array.isArray(externalIPs) || !externalIPs.length) return [];
  return [
    `spec.externalIPs is set (${externalIPs.join(", ")}): a Service must not claim external IPs (it could intercept traffic meant for those addresses, CVE-2020-8554); use the load balancer's address`,
  ];
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

/** This pipeline's rules for the app's Deployment, the Pod Security Standards' among them. */
export function deploymentRules(deployment: Obj): string[] {
  const out: string[] = [];
  const spec = obj(deployment.spec);
  const template = obj(spec.template);
  const podSpec = obj(template.spec);

  const replicas = spec.replicas;
  if (replicas === undefined)
    out.push(
      "spec.replicas is not set (Kubernetes defaults to 1): run at least 2 so a restart or a node drain never takes the service down",
    );
  else if (typeof replicas === "number" && replicas < 2)
    out.push(`spec.replicas is ${replicas}: run at least 2 so a restart or a node drain never takes the service down`);

  const strategy = obj(spec.strategy);
  if (strategy.type !== undefined && strategy.type !== "RollingUpdate") {
    out.push(
      `spec.strategy.type is ${String(strategy.type)}: use RollingUpdate with maxUnavailable 0 so the old pods serve until the new ones are ready`,
    );
  } else {
    const maxUnavailable = obj(strategy.rollingUpdate).maxUnavailable;
    if (maxUnavailable !== 0 && maxUnavailable !== "0%") {
      out.push(
        `spec.strategy.rollingUpdate.maxUnavailable is ${maxUnavailable === undefined ? "not set (defaults to 25%)" : JSON.stringify(maxUnavailable)}: set it to 0 so no ready pod is removed before its replacement is ready`,
      );
    }
  }

  const matchLabels = obj(obj(spec.selector).matchLabels);
  const podLabels = obj(obj(template.metadata).labels);
  if (!Object.keys(matchLabels).length || !selects(matchLabels, podLabels)) {
    out.push("spec.selector.matchLabels does not select the pod template's labels");
  }

  out.push(...podRules(podSpec, obj(obj(template.metadata).annotations)));
  const podSecurity = obj(podSpec.securityContext);
  const volumes = list(podSpec.volumes);
  const initContainers = list(podSpec.initContainers);
  for (const c of [...list(podSpec.containers), ...initContainers]) {
    const isInit = initContainers.includes(c);
    const where = `${isInit ? "init container" : "container"} ${String(c.name ?? "(no name)")}`;
    const found = [...appContainerRules(c, volumes, isInit), ...containerSecurityRules(c, podSecurity)];
    for (const m of found) out.push(`${where}: ${m}`);
  }
  return out;
}

/** The app's own needs: an image by digest, probes, resources, a scratch /tmp on a read-only root. */
function appContainerRules(c: Obj, volumes: Obj[], isInit: boolean): string[] {
  const out: string[] = [];
  const image = typeof c.image === "string" ? c.image : "";
  if (!image) out.push("image is not set");
  else if (parseImageRef(image)?.tag === PLACEHOLDER_TAG && !parseImageRef(image)?.digest) {
    out.push(
      `image "${image}" is the k8s/ placeholder: render the manifests with an image digest (dagger call manifests --image <repo>@sha256:...)`,
    );
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

  if (obj(c.securityContext).readOnlyRootFilesystem === true && !isInit) {
    const tmp = list(c.volumeMounts).find((m) => m.mountPath === "/tmp");
    const volume = tmp && volumes.find((v) => v.name === tmp.name);
    if (!tmp || !volume || !isPlainObject(volume.emptyDir)) {
      out.push("no emptyDir volume mounted at /tmp (the root filesystem is read-only; the app needs a scratch /tmp)");
    }
  }
  return out;
}

// ---- Pod Security Standards, "restricted" profile (which includes "baseline") --------------
// Each control of the published standard (kubernetes.io/docs/concepts/security/pod-security-standards)
// is checked below and named in its message, so a reader can look it up. Where this pipeline is
// stricter (groups, sysctls, service account tokens, ephemeral containers), the message says why
// without naming the standard.

const standard = (profile: "baseline" | "restricted", control: string) => ` [Pod Security Standards, ${profile}: ${control}]`;

/** Capabilities the baseline lets a container add back (the container runtime's default set). */
const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);
/** The only capability the restricted profile lets a container add back. */
const RESTRICTED_CAPABILITY = "NET_BIND_SERVICE";
/** Sysctls the baseline calls safe (namespaced, isolated from other pods). */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = ["container_t", "container_init_t", "container_kvm_t", "container_engine_t"];
/** The volume types the restricted profile allows (every volume must be one of them). */
const RESTRICTED_VOLUME_TYPES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
const ALLOWED_PROFILE_TYPES = ["RuntimeDefault", "Localhost"];
const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";
const SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/";

/** Rules on the pod as a whole: its spec, its securityContext, its volumes, its annotations. */
function podRules(podSpec: Obj, annotations: Obj): string[] {
  const out: string[] = [];
  const at = "spec.template.spec";
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (podSpec[field] === true)
      out.push(`${at}.${field} is true: the app needs no host namespace${standard("baseline", "Host Namespaces")}`);
  }

  const sc = obj(podSpec.securityContext);
  out.push(...sharedSecurityRules(sc, `${at}.securityContext`));
  if (sc.runAsNonRoot === false)
    out.push(`${at}.securityContext.runAsNonRoot is false: set it to true${standard("restricted", "Running as Non-root")}`);
  if (sc.runAsUser === 0) out.push(`${at}.securityContext.runAsUser is 0 (root)${standard("restricted", "Running as Non-root user")}`);
  if (sc.runAsGroup === 0) out.push(`${at}.securityContext.runAsGroup is 0 (root's group): give the image's non-root gid`);
  if (Array.isArray(sc.supplementalGroups) && sc.supplementalGroups.includes(0)) {
    out.push(`${at}.securityContext.supplementalGroups includes 0 (root's group)`);
  }
  if (sc.fsGroup === 0) out.push(`${at}.securityContext.fsGroup is 0 (root's group): volumes would belong to root's group`);
  for (const sysctl of list(sc.sysctls)) {
    const name = String(sysctl.name);
    out.push(
      SAFE_SYSCTLS.has(name)
        ? `${at}.securityContext.sysctls sets ${JSON.stringify(name)}: the app needs no kernel tuning, remove it`
        : `${at}.securityContext.sysctls sets ${JSON.stringify(name)}, which is not one of the safe sysctls: it can affect other pods or the node${standard("baseline", "Sysctls")}`,
    );
  }

  for (const v of list(podSpec.volumes)) {
    const name = JSON.stringify(v.name ?? "(no name)");
    if (v.hostPath !== undefined && v.hostPath !== null) {
      const path = JSON.stringify(obj(v.hostPath).path ?? "");
      out.push(
        `${at}.volumes ${name} is a hostPath volume (path ${path}): it exposes the node's filesystem to the pod${standard("baseline", "HostPath Volumes")}`,
      );
      continue;
    }
    if (!RESTRICTED_VOLUME_TYPES.some((t) => v[t] !== undefined && v[t] !== null)) {
      const type = Object.keys(v).find((k) => k !== "name") ?? "untyped";
      out.push(
        `${at}.volumes ${name} uses the ${type} volume type: only ${RESTRICTED_VOLUME_TYPES.slice(0, -1).join(", ")} and ${RESTRICTED_VOLUME_TYPES.at(-1)} volumes are allowed${standard("restricted", "Volume Types")}`,
      );
    }
  }

  for (const [key, value] of Object.entries(annotations)) {
    const where = `spec.template.metadata.annotations[${JSON.stringify(key)}] is ${JSON.stringify(value)}`;
    if (key.startsWith(APPARMOR_ANNOTATION) && value !== "runtime/default" && !String(value).startsWith("localhost/")) {
      out.push(`${where}: use runtime/default (or localhost/<profile>)${standard("baseline", "AppArmor")}`);
    }
    if ((key === SECCOMP_POD_ANNOTATION || key.startsWith(SECCOMP_CONTAINER_ANNOTATION)) && value === "unconfined") {
      out.push(`${where}: remove it (use the seccompProfile field with RuntimeDefault)${standard("baseline", "Seccomp")}`);
    }
  }

  if (podSpec.automountServiceAccountToken === true) {
    const account = typeof podSpec.serviceAccountName === "string" ? podSpec.serviceAccountName : "default";
    out.push(
      `${at}.automountServiceAccountToken is true: the pod would carry service account ${JSON.stringify(account)}'s Kubernetes API token, and the app never calls the API; set it to false`,
    );
  } else if (podSpec.automountServiceAccountToken !== false) {
    out.push(
      `${at}.automountServiceAccountToken is not set (Kubernetes mounts a service account token by default): set it to false, the app never calls the Kubernetes API`,
    );
  }
  if (list(podSpec.ephemeralContainers).length) {
    out.push(`${at}.ephemeralContainers is set: ephemeral containers are added to running pods by kubectl debug, never by a Deployment`);
  }
  return out;
}

/** Fields a pod and a container securityContext share: HostProcess, AppArmor, SELinux, seccomp when set. */
function sharedSecurityRules(sc: Obj, at: string): string[] {
  const out: string[] = [];
  if (obj(sc.windowsOptions).hostProcess === true) {
    out.push(
      `${at}.windowsOptions.hostProcess is true: a HostProcess container runs with the Windows node's privileges${standard("baseline", "HostProcess")}`,
    );
  }
  const appArmor = obj(sc.appArmorProfile).type;
  if (appArmor !== undefined && !ALLOWED_PROFILE_TYPES.includes(String(appArmor))) {
    out.push(
      `${at}.appArmorProfile.type is ${JSON.stringify(appArmor)}: use RuntimeDefault (or a Localhost profile)${standard("baseline", "AppArmor")}`,
    );
  }
  const selinux = obj(sc.seLinuxOptions);
  if (selinux.type !== undefined && selinux.type !== "" && !SELINUX_TYPES.includes(String(selinux.type))) {
    out.push(
      `${at}.seLinuxOptions.type is ${JSON.stringify(selinux.type)}: use ${SELINUX_TYPES.slice(0, -1).join(", ")} or ${SELINUX_TYPES.at(-1)}${standard("baseline", "SELinux")}`,
    );
  }
  for (const field of ["user", "role"]) {
    if (selinux[field] !== undefined && selinux[field] !== "") {
      out.push(
        `${at}.seLinuxOptions.${field} is ${JSON.stringify(selinux[field])}: a custom SELinux ${field} is not allowed${standard("baseline", "SELinux")}`,
      );
    }
  }
  const seccomp = obj(sc.seccompProfile).type;
  if (seccomp !== undefined && !ALLOWED_PROFILE_TYPES.includes(String(seccomp))) {
    out.push(
      `${at}.seccompProfile.type is ${JSON.stringify(seccomp)}: use RuntimeDefault${standard(seccomp === "Unconfined" ? "baseline" : "restricted", "Seccomp")}`,
    );
  }
  return out;
}

/**
 * One container's security: its own securityContext, and what it inherits from the pod's where
 * the field exists in both (a value the pod sets wrongly is reported once, on the pod).
 */
function containerSecurityRules(c: Obj, podSecurity: Obj): string[] {
  const out: string[] = [];
  const sc = obj(c.securityContext);
  out.push(...sharedSecurityRules(sc, "securityContext"));
  if (sc.privileged === true) {
    out.push(
      `securityContext.privileged is true: a privileged container has the node's devices and every capability${standard("baseline", "Privileged Containers")}`,
    );
  }
  const caps = obj(sc.capabilities);
  for (const cap of Array.isArray(caps.add) ? caps.add.map(String) : []) {
    if (!BASELINE_CAPABILITIES.has(cap)) {
      out.push(
        `securityContext.capabilities.add grants ${cap}, which is beyond the container runtime's default set: only ${RESTRICTED_CAPABILITY} may be added back${standard("baseline", "Capabilities")}`,
      );
    } else if (cap !== RESTRICTED_CAPABILITY) {
      out.push(
        `securityContext.capabilities.add grants ${cap}: only ${RESTRICTED_CAPABILITY} may be added back${standard("restricted", "Capabilities")}`,
      );
    }
  }
  if (!(Array.isArray(caps.drop) && caps.drop.includes("ALL"))) {
    out.push(`securityContext.capabilities.drop does not include "ALL"${standard("restricted", "Capabilities")}`);
  }
  list(c.ports).forEach((p, i) => {
    if (p.hostPort !== undefined && p.hostPort !== 0) {
      const port = typeof p.name === "string" ? JSON.stringify(p.name) : `[${i}]`;
      out.push(
        `ports ${port} sets hostPort ${String(p.hostPort)}: the pod would take a port on the node; the Service publishes the app${standard("baseline", "Host Ports")}`,
      );
    }
  });
  const handlers: [string, Obj][] = [
    ...["livenessProbe", "readinessProbe", "startupProbe"].map((p): [string, Obj] => [p, obj(c[p])]),
    ...["postStart", "preStop"].map((h): [string, Obj] => [`lifecycle.${h}`, obj(obj(c.lifecycle)[h])]),
  ];
  for (const [path, handler] of handlers) {
    for (const kind of ["httpGet", "tcpSocket"]) {
      const host = obj(handler[kind]).host;
      if (host !== undefined && host !== "") {
        out.push(
          `${path}.${kind}.host is ${JSON.stringify(host)}: probes and lifecycle hooks must reach the pod itself (leave host unset)${standard("baseline", "Host Probes / Lifecycle Hooks")}`,
        );
      }
    }
  }
  if (sc.procMount !== undefined && sc.procMount !== "Default") {
    out.push(
      `securityContext.procMount is ${JSON.stringify(sc.procMount)}: keep the default /proc masks (Default)${standard("baseline", "/proc Mount Type")}`,
    );
  }
  if (obj(sc.seccompProfile).type === undefined && obj(podSecurity.seccompProfile).type === undefined) {
    out.push(
      `seccompProfile.type is not set: use RuntimeDefault in the pod or container securityContext${standard("restricted", "Seccomp")}`,
    );
  }
  if (sc.allowPrivilegeEscalation !== false) {
    const now =
      sc.allowPrivilegeEscalation === undefined ? "is not set (it defaults to true)" : `is ${JSON.stringify(sc.allowPrivilegeEscalation)}`;
    out.push(`securityContext.allowPrivilegeEscalation ${now}: set it to false${standard("restricted", "Privilege Escalation")}`);
  }
  if (sc.runAsNonRoot === false)
    out.push(`securityContext.runAsNonRoot is false: set it to true${standard("restricted", "Running as Non-root")}`);
  else if (sc.runAsNonRoot === undefined && podSecurity.runAsNonRoot === undefined) {
    out.push(
      `runAsNonRoot is not set: set it to true in the pod or container securityContext${standard("restricted", "Running as Non-root")}`,
    );
  }
  if (sc.runAsUser === 0) out.push(`securityContext.runAsUser is 0 (root)${standard("restricted", "Running as Non-root user")}`);
  else if (sc.runAsUser === undefined && podSecurity.runAsUser === undefined)
    out.push("runAsUser is not set: give the image's numeric non-root uid");
  if (sc.runAsGroup === 0) out.push("securityContext.runAsGroup is 0 (root's group): give the image's non-root gid");
  else if (sc.runAsGroup === undefined && podSecurity.runAsGroup === undefined) {
    out.push(
      "runAsGroup is not set: give the image's non-root gid in the pod or container securityContext (else the process may run in group 0)",
    );
  }
  if (sc.readOnlyRootFilesystem !== true) out.push("securityContext.readOnlyRootFilesystem is not true");
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
        out.push({
          file: d.file,
          object,
          message: `spec.selector ${JSON.stringify(selector)} selects the pods of no Deployment in ${setName}/`,
        });
        continue;
      }
      for (const port of list(spec.ports)) {
        const tp = port.targetPort;
        if (typeof tp === "string" && !target.ports.some((p) => p.name === tp)) {
          out.push({
            file: d.file,
            object,
            message: `port ${String(port.name ?? port.port)}: targetPort "${tp}" is not a named port of ${target.name}`,
          });
        }
      }
    }
    if (d.object.kind === "PodDisruptionBudget") {
      const selector = obj(obj(spec.selector).matchLabels);
      if (!Object.keys(selector).length || !pods.some((p) => selects(selector, p.labels))) {
        out.push({
          file: d.file,
          object,
          message: `spec.selector.matchLabels ${JSON.stringify(selector)} selects the pods of no Deployment in ${setName}/`,
        });
      }
    }
  }
  return out;
}

function selects(selector: Obj, labels: Obj): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
