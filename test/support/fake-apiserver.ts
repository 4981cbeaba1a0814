/**
 * A stand-in Kubernetes API server for the real kubectl binary: HTTPS on 127.0.0.1 with a
 * throwaway certificate, the discovery documents kubectl needs, and just the resources the deploy
 * step reads (one Deployment, its ReplicaSets, pods, events). It answers from a small state that
 * tests set ("rollout stuck", "progress deadline exceeded", "no such Deployment"...), records every
 * request, and applies `rollout undo`'s PATCH and server-side apply (with just enough OpenAPI).
 * For canary releases: other Deployments (those with an `ai-app-pipeline/track` label) created by
 * apply with ready pods of their own, listed by label, deleted; ConfigMaps created, read and
 * replaced with resourceVersion checks (409 Conflict / AlreadyExists as the real server answers).
 * It is not Kubernetes: no controllers, no admission.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { IncomingMessage, ServerResponse } from "node:http";
import { createServer, Server } from "node:https";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { kubeconfigText } from "./kubernetes.js";
import { tempDir } from "./temp.js";
import { selfSignedCert } from "./tls.js";
import { closePatient, patient } from "./patient-server.js";

export type RolloutState = "complete" | "progressing" | "deadline-exceeded";

export interface ApiState {
  namespace: string;
  /** Absent: the Deployment does not exist yet. */
  deployment?:
    | {
        name: string;
        revision: string;
        image: string;
        rollout: RolloutState;
        /** Annotations on the Deployment (as the render step writes them), besides the revision. */
        annotations?: Record<string, string>;
      }
    | undefined;
  /** A Service served by GET (e.g. the app's LoadBalancer Service with its status), as the API returns it. */
  service?: { metadata: { name: string } } & Record<string, unknown>;
  /** Revision -> image of the ReplicaSets the Deployment owns. */
  replicaSets: Record<string, string>;
  pods: unknown[];
  events: unknown[];
  /** What the app answers through the service proxy, by path. */
  app?: Record<string, { status: number; body: string }>;
  /**
   * How a pod created through the API (kubectl run) ends: its exit code and its log, or a function
   * of the pod's command line (e.g. the URL a smoke pod checks). Default: exit 0, empty log.
   */
  podRun?: PodRun | ((command: string[]) => PodRun);
  /** Health of the pods of a track-labelled (canary) Deployment, created when it is applied. Default: ready, no restarts. */
  trackedPods?: { ready: boolean; restarts: number };
  /** Rollout of track-labelled Deployments. Default: complete. */
  trackedRollout?: "complete" | "progressing";
  /** Track-labelled Deployments as stored by apply, by name (tests may seed one: a canary left behind). */
  tracked?: Record<string, Record<string, unknown>>;
  /** ConfigMaps by name, each with its metadata.resourceVersion. */
  configMaps?: Record<string, Record<string, unknown>>;
  /** Readiness of the cluster itself, for the wait-for-cluster commands (default: all ready). */
  cluster?: { readyz?: number; nodeReady?: boolean; defaultServiceAccount?: boolean } | undefined;
}

export interface PodRun {
  exitCode: number;
  log: string;
}

/** The label that marks a Deployment as not the stable one (the canary). */
export const TRACK_LABEL = "ai-app-pipeline/track";

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const LABELS = { "app.kubernetes.io/name": "ai-app" };

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  /** Objects written by server-side apply (dry runs excluded), by `Kind/name`. */
  readonly applied: Record<string, Record<string, unknown>> = {};
  /** Pods created through the API (POST), as the server stored them; dry runs are not kept. */
  readonly createdPods: Record<string, unknown>[] = [];
  private server?: Server;
  private resourceVersion = 100;
  private podLogs = new Map<string, string>();
  private dir = tempDir("fake-apiserver-");
  url = "";

  constructor(public state: ApiState) {}

  /** Listens on `host` (default 127.0.0.1; the engine harness's veth address for the real engine). */
  async start(host = "127.0.0.1"): Promise<this> {
    const { key, cert } = selfSignedCert(host);
    this.server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        this.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
        this.handle(req, res, body);
      });
    });
    patient(this.server);
    await new Promise<void>((r) => this.server!.listen(0, host, r));
    this.url = `https://${host}:${(this.server!.address() as AddressInfo).port}`;
    writeFileSync(join(this.dir, "config"), kubeconfigText(this.url, { caData: readFileSync(cert).toString("base64") }));
    return this;
  }

  async stop(): Promise<void> {
    await closePatient(this.server);
  }

  /** A kubeconfig (static token user) for this server. */
  get kubeconfig(): string {
    return join(this.dir, "config");
  }

  /** Runs the real kubectl against this server, without blocking the event loop that serves it. */
  kubectl(args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KUBE")) env[k] = v;
    Object.assign(env, { KUBECONFIG: this.kubeconfig, HOME: this.dir });
    return new Promise((resolve, reject) => {
      const child = spawn("kubectl", args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
    });
  }

  // ---- the API ----------------------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const u = new URL(req.url ?? "/", this.url);
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(obj));
    };
    const notFound = (what: string) =>
      send(404, { kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404, message: `${what} not found` });
    const discovery = DISCOVERY[u.pathname];
    if (discovery) return send(200, discovery);
    const openapi = openApiV3(u.pathname);
    if (openapi) return send(200, openapi);
    if (req.method === "PATCH" && String(req.headers["content-type"]).startsWith("application/apply-patch")) {
      return this.serverSideApply(u, body, send);
    }
    const configMaps = `/api/v1/namespaces/${this.state.namespace}/configmaps`;
    if (u.pathname === configMaps || u.pathname.startsWith(`${configMaps}/`)) return this.configMap(req, u, body, send, notFound);
    const trackedName = this.trackedAt(u.pathname);
    if (trackedName) {
      const t = this.state.tracked![trackedName]!;
      if (req.method === "DELETE") {
        delete this.state.tracked![trackedName];
        const labels = labelsOf(t, ["spec", "template", "metadata", "labels"]);
        this.state.pods = this.state.pods.filter((p) => !selects(labels, labelsOf(p, ["metadata", "labels"])));
        return send(200, this.trackedObject(trackedName, t));
      }
      return send(200, this.trackedObject(trackedName, t));
    }
    const appliedHere = req.method === "GET" ? this.appliedAt(u.pathname) : undefined;
    if (appliedHere && !(appliedHere.kind === "Deployment" && this.state.deployment)) return send(200, appliedHere);

    const ns = this.state.namespace;
    const d = this.state.deployment;
    const deployments = `/apis/apps/v1/namespaces/${ns}/deployments`;
    if (u.pathname === `${deployments}/${d?.name}` && d) {
      if (req.method === "PATCH") return this.undo(body, send);
      if (req.method === "DELETE") {
        const gone = this.deploymentObject();
        this.state.deployment = undefined;
        return send(200, gone);
      }
      return send(200, this.deploymentObject());
    }
    if (u.pathname.startsWith(`${deployments}/`)) return notFound(`deployments.apps "${u.pathname.split("/").at(-1)}"`);
    if (u.pathname === deployments) {
      if (u.searchParams.get("watch")) {
        // A watch that never reports a change: the rollout stays where the list left it.
        res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
        res.flushHeaders();
        return;
      }
      const all = [
        ...(d ? [this.deploymentObject() as Record<string, unknown>] : []),
        ...Object.entries(this.state.tracked ?? {}).map(([n, t]) => this.trackedObject(n, t)),
      ];
      return send(200, { kind: "DeploymentList", apiVersion: "apps/v1", metadata: { resourceVersion: "10" }, items: filtered(all, u) });
    }
    if (u.pathname === `/apis/apps/v1/namespaces/${ns}/replicasets`) {
      const items = Object.entries(this.state.replicaSets).map(([revision, image]) => replicaSet(ns, d?.name ?? "ai-app", revision, image));
      return send(200, { kind: "ReplicaSetList", apiVersion: "apps/v1", metadata: { resourceVersion: "11" }, items });
    }
    const service = this.state.service;
    if (service && u.pathname === `/api/v1/namespaces/${ns}/services/${service.metadata.name}`) {
      return send(200, { apiVersion: "v1", kind: "Service", ...service, metadata: { namespace: ns, ...service.metadata } });
    }
    if (u.pathname.startsWith(`/api/v1/namespaces/${ns}/services/`) && !u.pathname.includes("/proxy")) {
      return notFound(`services "${u.pathname.split("/").at(-1)}"`);
    }
    const proxy = `/api/v1/namespaces/${ns}/services/http:ai-app:http/proxy`;
    if (u.pathname.startsWith(proxy) && this.state.app) {
      const answer = this.state.app[u.pathname.slice(proxy.length)];
      if (!answer) return notFound(u.pathname);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(answer.body);
      return;
    }
    const pods = `/api/v1/namespaces/${ns}/pods`;
    if (u.pathname === pods && req.method === "POST") return this.createPod(body, u.searchParams.has("dryRun"), send);
    if (u.pathname.startsWith(`${pods}/`)) return this.podRoute(req, res, u, send, notFound);
    if (u.pathname === pods && u.searchParams.get("watch")) {
      res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
      res.flushHeaders();
      return;
    }
    if (u.pathname === pods) {
      const named = /^metadata\.name=(.+)$/.exec(u.searchParams.get("fieldSelector") ?? "")?.[1];
      const items = named
        ? this.createdPods.filter((p) => podName(p) === named)
        : filtered([...this.state.pods, ...this.createdPods] as Record<string, unknown>[], u);
      return send(200, { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "12" }, items });
    }
    if (u.pathname === "/readyz") {
      const code = this.state.cluster?.readyz ?? 200;
      res.writeHead(code, { "content-type": "text/plain" });
      res.end(code === 200 ? "ok" : "[-]poststarthook/rbac/bootstrap-roles failed: not finished\nreadyz check failed");
      return;
    }
    if (u.pathname === "/api/v1/nodes")
      return send(200, {
        kind: "NodeList",
        apiVersion: "v1",
        metadata: { resourceVersion: "14" },
        items: [nodeObject(this.state.cluster?.nodeReady ?? true)],
      });
    if (u.pathname === `/api/v1/namespaces/${ns}/serviceaccounts/default`) {
      if (this.state.cluster?.defaultServiceAccount === false) return notFound('serviceaccounts "default"');
      return send(200, { kind: "ServiceAccount", apiVersion: "v1", metadata: { name: "default", namespace: ns } });
    }
    if (u.pathname === `/api/v1/namespaces/${ns}/events`)
      return send(200, { kind: "EventList", apiVersion: "v1", metadata: { resourceVersion: "13" }, items: this.state.events });
    return notFound(u.pathname);
  }

  /** `kubectl rollout undo` patches the Deployment's template with the chosen ReplicaSet's. */
  private undo(body: string, send: (code: number, obj: unknown) => void): void {
    const d = this.state.deployment!;
    const image = /"image":"([^"]+)"/.exec(body)?.[1];
    const revision = Object.entries(this.state.replicaSets).find(([, img]) => img === image)?.[0];
    if (image && revision) {
      const next = String(Math.max(...Object.keys(this.state.replicaSets).map(Number)) + 1);
      delete this.state.replicaSets[revision];
      this.state.replicaSets[next] = image;
      this.state.deployment = { ...d, image, revision: next, rollout: "complete" };
    }
    send(200, this.deploymentObject());
  }

  /** An object stored by apply, addressed by its URL path. */
  private appliedAt(path: string): Record<string, unknown> | undefined {
    for (const kinds of Object.values(APPLIED_KINDS)) {
      for (const k of kinds) {
        const base = `${k.group ? `/apis/${k.group}` : "/api"}/${k.version}/namespaces/${this.state.namespace}/${k.plural}/`;
        if (path.startsWith(base)) return this.applied[`${k.kind}/${path.slice(base.length)}`];
      }
    }
    return undefined;
  }

  /**
   * Server-side apply of the kinds the deploy writes: the object is checked as the API server
   * would for what we send (a Deployment's containers need a name and an image; the body's
   * kind and name must match the URL), stored unless it is a dry run, and returned. Applying a
   * Deployment with a new image starts a new revision whose rollout is complete.
   */
  private serverSideApply(u: URL, body: string, send: (code: number, obj: unknown) => void): void {
    const obj = JSON.parse(body) as {
      kind?: string;
      metadata?: { name?: string };
      spec?: { template?: { spec?: { containers?: { name?: string; image?: string }[] } } };
    };
    const name = u.pathname.split("/").at(-1) ?? "";
    const kind = obj.kind ?? "";
    const invalid = (message: string) =>
      send(422, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Invalid",
        code: 422,
        message: `${kind} "${name}" is invalid: ${message}`,
      });
    if (obj.metadata?.name !== name)
      return invalid(`metadata.name: Invalid value: "${obj.metadata?.name}": must match the name in the URL`);
    if (kind === "Deployment") {
      const containers = obj.spec?.template?.spec?.containers ?? [];
      if (!containers.length) return invalid("spec.template.spec.containers: Required value");
      const missing = containers.findIndex((c) => !c.name || !c.image);
      if (missing >= 0) return invalid(`spec.template.spec.containers[${missing}].image: Required value`);
    }
    const stored = {
      ...obj,
      metadata: { ...obj.metadata, namespace: this.state.namespace, resourceVersion: "30", uid: `${kind}-${name}` },
    };
    if (u.searchParams.get("dryRun") === "All") return send(200, stored);
    if (kind === "Deployment" && labelsOf(obj, ["metadata", "labels"])[TRACK_LABEL]) return send(200, this.storeTracked(name, stored));
    this.applied[`${kind}/${name}`] = stored;
    if (kind === "Deployment") {
      const image = obj.spec!.template!.spec!.containers![0]!.image!;
      const d = this.state.deployment;
      if (!d || d.image !== image) {
        const revision = String(Math.max(0, ...Object.keys(this.state.replicaSets).map(Number)) + 1);
        this.state.replicaSets[revision] = image;
        this.state.deployment = { name, image, revision, rollout: "complete" };
      }
    }
    send(200, stored);
  }

  /**
   * Pod creation as the real API server validates it for the fields we send: every container
   * needs a name and an image (`spec.containers[0].image: Required value`). The pod is stored as
   * already finished (state.podRun), so `kubectl run --attach --rm` reads its log and deletes it.
   */
  private createPod(body: string, dryRun: boolean, send: (code: number, obj: unknown) => void): void {
    const pod = JSON.parse(body) as { metadata?: { name?: string }; spec?: { containers?: { name?: string; image?: string }[] } };
    const name = pod.metadata?.name ?? "";
    const problems: string[] = [];
    const containers = pod.spec?.containers ?? [];
    if (!containers.length) problems.push("spec.containers: Required value");
    containers.forEach((c, i) => {
      if (!c.name) problems.push(`spec.containers[${i}].name: Required value`);
      if (!c.image) problems.push(`spec.containers[${i}].image: Required value`);
    });
    if (problems.length) {
      return send(422, {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "Invalid",
        code: 422,
        message: `Pod "${name}" is invalid: ${problems.join(", ")}`,
      });
    }
    const spec = pod.spec as { containers?: { args?: string[]; command?: string[] }[] } | undefined;
    const command = [...(spec?.containers?.[0]?.command ?? []), ...(spec?.containers?.[0]?.args ?? [])];
    const run = typeof this.state.podRun === "function" ? this.state.podRun(command) : (this.state.podRun ?? { exitCode: 0, log: "" });
    if (!dryRun) this.podLogs.set(name, run.log);
    const finished = {
      ...pod,
      metadata: { ...pod.metadata, namespace: this.state.namespace, uid: `pod-${name}`, resourceVersion: "20" },
      status: {
        phase: run.exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: run.exitCode, reason: run.exitCode === 0 ? "Completed" : "Error" } },
        })),
      },
    };
    if (!dryRun) this.createdPods.push(finished);
    send(201, finished);
  }

  private podRoute(
    req: IncomingMessage,
    res: ServerResponse,
    u: URL,
    send: (code: number, obj: unknown) => void,
    notFound: (what: string) => void,
  ): void {
    const [name, sub] = u.pathname.split("/").slice(6);
    const index = this.createdPods.findIndex((p) => podName(p) === name);
    if (index < 0) return notFound(`pods "${name}"`);
    if (sub === "log") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(this.podLogs.get(name ?? "") ?? "");
      return;
    }
    if (req.method === "DELETE") {
      const [gone] = this.createdPods.splice(index, 1);
      return send(200, gone);
    }
    return send(200, this.createdPods[index]);
  }

  /** The name of a track-labelled Deployment addressed by `path`, if that is one. */
  private trackedAt(path: string): string | undefined {
    const base = `/apis/apps/v1/namespaces/${this.state.namespace}/deployments/`;
    const name = path.startsWith(base) ? path.slice(base.length) : undefined;
    return name && this.state.tracked?.[name] ? name : undefined;
  }

  /** Stores a track-labelled Deployment and gives it its pods (ready or not, as the state says), as a controller would. */
  private storeTracked(name: string, stored: Record<string, unknown>): Record<string, unknown> {
    this.state.tracked = { ...this.state.tracked, [name]: stored };
    const labels = labelsOf(stored, ["spec", "template", "metadata", "labels"]);
    const replicas = Number((stored.spec as { replicas?: number }).replicas ?? 1);
    const health = this.state.trackedPods ?? { ready: true, restarts: 0 };
    this.state.pods = this.state.pods.filter((p) => !selects(labels, labelsOf(p, ["metadata", "labels"])));
    for (let i = 0; i < replicas; i++) {
      this.state.pods.push({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: `${name}-pod-${i}`, namespace: this.state.namespace, labels },
        spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8000 }] }] },
        status: {
          phase: "Running",
          podIP: `10.244.0.${10 + i}`,
          conditions: [{ type: "Ready", status: health.ready ? "True" : "False" }],
          containerStatuses: [{ name: "app", ready: health.ready, restartCount: health.restarts }],
        },
      });
    }
    return this.trackedObject(name, stored);
  }

  private trackedObject(name: string, stored: Record<string, unknown>): Record<string, unknown> {
    const replicas = Number((stored.spec as { replicas?: number }).replicas ?? 1);
    const done = (this.state.trackedRollout ?? "complete") === "complete";
    return {
      ...stored,
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { ...(stored.metadata as object), name, namespace: this.state.namespace, generation: 1 },
      status: done
        ? { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: replicas, availableReplicas: replicas }
        : { observedGeneration: 1, replicas, updatedReplicas: replicas, readyReplicas: 0, availableReplicas: 0 },
    };
  }

  /** ConfigMaps: GET, POST (409 AlreadyExists), PUT (409 Conflict unless metadata.resourceVersion is the stored one). */
  private configMap(
    req: IncomingMessage,
    u: URL,
    body: string,
    send: (code: number, obj: unknown) => void,
    notFound: (what: string) => void,
  ): void {
    const store = (this.state.configMaps ??= {});
    const name = u.pathname.split("/").at(-1) ?? "";
    const status = (code: number, reason: string, message: string) =>
      send(code, { kind: "Status", apiVersion: "v1", status: "Failure", reason, code, message, details: { name, kind: "configmaps" } });
    const save = (o: Record<string, unknown>) => {
      const saved = {
        ...o,
        metadata: { ...(o.metadata as object), namespace: this.state.namespace, resourceVersion: String(++this.resourceVersion) },
      };
      store[(o.metadata as { name: string }).name] = saved;
      return saved;
    };
    if (req.method === "POST") {
      const o = JSON.parse(body) as Record<string, unknown>;
      const n = (o.metadata as { name?: string } | undefined)?.name ?? "";
      if (store[n])
        return send(409, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          reason: "AlreadyExists",
          code: 409,
          message: `configmaps "${n}" already exists`,
        });
      return send(201, save(o));
    }
    const current = store[name];
    if (!current) return notFound(`configmaps "${name}"`);
    if (req.method === "PUT") {
      const o = JSON.parse(body) as Record<string, unknown>;
      const rv = (o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
      if (rv !== (current.metadata as { resourceVersion: string }).resourceVersion) {
        return status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
        );
      }
      return send(200, save(o));
    }
    return send(200, { apiVersion: "v1", kind: "ConfigMap", ...current });
  }

  private deploymentObject(): unknown {
    const d = this.state.deployment!;
    const status =
      d.rollout === "complete"
        ? {
            observedGeneration: 2,
            replicas: 2,
            updatedReplicas: 2,
            readyReplicas: 2,
            availableReplicas: 2,
            conditions: [{ type: "Progressing", status: "True", reason: "NewReplicaSetAvailable" }],
          }
        : d.rollout === "deadline-exceeded"
          ? {
              observedGeneration: 2,
              replicas: 3,
              updatedReplicas: 1,
              readyReplicas: 2,
              availableReplicas: 2,
              conditions: [
                {
                  type: "Progressing",
                  status: "False",
                  reason: "ProgressDeadlineExceeded",
                  message: `ReplicaSet "${d.name}-${d.revision}" has timed out progressing.`,
                },
              ],
            }
          : { observedGeneration: 2, replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 };
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: {
        name: d.name,
        namespace: this.state.namespace,
        uid: "deployment-uid",
        generation: 2,
        resourceVersion: "10",
        annotations: { ...d.annotations, "deployment.kubernetes.io/revision": d.revision },
      },
      spec: { replicas: 2, selector: { matchLabels: LABELS }, template: podTemplate(d.image, d.annotations) },
      status,
    };
  }
}

function labelsOf(o: unknown, path: string[]): Record<string, string> {
  let v: unknown = o;
  for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
  return (v ?? {}) as Record<string, string>;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** Items matching the request's labelSelector (k=v,...) and metadata.name fieldSelector, as the API server filters lists. */
function filtered(items: Record<string, unknown>[], u: URL): Record<string, unknown>[] {
  const label = u.searchParams.get("labelSelector");
  const selector = label ? Object.fromEntries(label.split(",").map((kv) => kv.split("=") as [string, string])) : undefined;
  const name = /^metadata\.name=(.+)$/.exec(u.searchParams.get("fieldSelector") ?? "")?.[1];
  return items.filter((i) => (!selector || selects(selector, labelsOf(i, ["metadata", "labels"]))) && (!name || podName(i) === name));
}

function podName(p: Record<string, unknown>): string {
  return (p.metadata as { name?: string } | undefined)?.name ?? "";
}

function nodeObject(ready: boolean) {
  return {
    metadata: { name: "k3s-node" },
    status: { conditions: [{ type: "Ready", status: ready ? "True" : "False", reason: ready ? "KubeletReady" : "KubeletNotReady" }] },
  };
}

function podTemplate(image: string, annotations?: Record<string, string>) {
  return { metadata: { labels: LABELS, ...(annotations ? { annotations } : {}) }, spec: { containers: [{ name: "app", image }] } };
}

function replicaSet(namespace: string, deployment: string, revision: string, image: string) {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${deployment}-${revision}`,
      namespace,
      uid: `rs-${revision}`,
      annotations: { "deployment.kubernetes.io/revision": revision },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: deployment, uid: "deployment-uid", controller: true }],
    },
    spec: { replicas: 0, selector: { matchLabels: LABELS }, template: podTemplate(image) },
  };
}

const group = (name: string) => ({
  name,
  versions: [{ groupVersion: `${name}/v1`, version: "v1" }],
  preferredVersion: { groupVersion: `${name}/v1`, version: "v1" },
});
const resource = (name: string, kind: string, namespaced = true) => ({
  name,
  singularName: kind.toLowerCase(),
  namespaced,
  kind,
  verbs: ["get", "list", "watch", "patch", "create", "update", "delete"],
});

/** The kinds the apply path writes, by OpenAPI v3 group-version path. */
const APPLIED_KINDS: Record<string, { group: string; version: string; kind: string; plural: string; namespaced: boolean }[]> = {
  "api/v1": [
    { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true },
    { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  ],
  "apis/apps/v1": [{ group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true }],
  "apis/policy/v1": [{ group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true }],
};

/**
 * Just enough OpenAPI v3 for kubectl's apply: each PATCH operation says it takes
 * `fieldValidation`, so kubectl leaves validation to the server (as with a real API server)
 * instead of needing the full schemas.
 */
function openApiV3(path: string): unknown {
  if (path === "/openapi/v3") {
    return { paths: Object.fromEntries(Object.keys(APPLIED_KINDS).map((gv) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=0` }])) };
  }
  const kinds = APPLIED_KINDS[path.replace(/^\/openapi\/v3\//, "")];
  if (!path.startsWith("/openapi/v3/") || !kinds) return undefined;
  const paths: Record<string, unknown> = {};
  for (const k of kinds) {
    const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
    const params = [
      { name: "fieldValidation", in: "query", schema: { type: "string" } },
      { name: "dryRun", in: "query", schema: { type: "string" } },
    ];
    const gvk = { group: k.group, version: k.version, kind: k.kind };
    paths[`${base}/namespaces/{namespace}/${k.plural}`] = {
      post: {
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": gvk,
        parameters: params,
        responses: { "201": { description: "Created" } },
      },
    };
    paths[`${base}/namespaces/{namespace}/${k.plural}/{name}`] = {
      put: {
        "x-kubernetes-action": "put",
        "x-kubernetes-group-version-kind": gvk,
        parameters: params,
        responses: { "200": { description: "OK" } },
      },
      patch: {
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": { group: k.group, version: k.version, kind: k.kind },
        parameters: [
          { name: "fieldValidation", in: "query", schema: { type: "string" } },
          { name: "dryRun", in: "query", schema: { type: "string" } },
        ],
        responses: { "200": { description: "OK" } },
      },
    };
  }
  return { openapi: "3.0.0", info: { title: "Kubernetes", version: "v1.32.4" }, paths, components: { schemas: {} } };
}

/** Legacy (non-aggregated) discovery: kubectl 1.32 accepts it when the server offers nothing newer. */
const DISCOVERY: Record<string, unknown> = {
  "/version": { major: "1", minor: "32", gitVersion: "v1.32.4" },
  "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] },
  "/apis": { kind: "APIGroupList", apiVersion: "v1", groups: [group("apps"), group("policy")] },
  "/api/v1": {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [
      resource("pods", "Pod"),
      resource("pods/log", "Pod"),
      resource("events", "Event"),
      resource("services", "Service"),
      resource("nodes", "Node", false),
      resource("serviceaccounts", "ServiceAccount"),
      resource("configmaps", "ConfigMap"),
      resource("namespaces", "Namespace", false),
    ],
  },
  "/apis/apps/v1": {
    kind: "APIResourceList",
    groupVersion: "apps/v1",
    resources: [resource("deployments", "Deployment"), resource("replicasets", "ReplicaSet")],
  },
  "/apis/policy/v1": {
    kind: "APIResourceList",
    groupVersion: "policy/v1",
    resources: [resource("poddisruptionbudgets", "PodDisruptionBudget")],
  },
};
