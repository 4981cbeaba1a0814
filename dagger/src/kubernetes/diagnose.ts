/**
 * Why a rollout failed, from what kubectl says about the Deployment's pods and events
 * (`kubectl get pods -o json`, `kubectl get events -o json`). Pure: JSON text in, reasons out.
 */
import { list, Obj, obj, str } from "./kubectl-json.js";

export interface Problem {
  /** Kubernetes' own word for it: ImagePullBackOff, CrashLoopBackOff, OOMKilled, Unschedulable... */
  reason: string;
  /** `pod ai-app-7c9d-x2x4k, container app`, `replicaset ai-app-7c9d`. */
  where: string;
  /** Kubernetes' message, with the most useful detail we found. */
  message: string;
}

export interface Diagnosis {
  problems: Problem[];
  /** One sentence: the most telling problem in plain words. */
  headline: string;
  /** Notes on what could not be read (e.g. listing pods failed). */
  notes: string[];
}

/** Most telling first: a bad image explains a crash loop's absence, not the other way round. */
const RANK = [
  "InvalidImageName",
  "ErrImagePull",
  "ImagePullBackOff",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "OOMKilled",
  "CrashLoopBackOff",
  "ReadinessProbeFailed",
  "Unschedulable",
  "FailedCreate",
  "FailedMount",
  "NotReady",
  "Pending",
];

function items(json: string | undefined): Obj[] | undefined {
  if (json === undefined) return undefined;
  try {
    return list(obj(JSON.parse(json)).items);
  } catch {
    return undefined;
  }
}

/** Pods and ReplicaSets of `deployment` are named `<deployment>-<hash>[-<suffix>]`. */
function belongsTo(name: string, deployment: string): boolean {
  return name === deployment || name.startsWith(`${deployment}-`);
}

/**
 * Problems of the Deployment's pods that are not ready, enriched with its warning events
 * (the registry's answer for a failed pull, the probe's answer for a failed readiness check).
 * `podsJson`/`eventsJson` are undefined when kubectl could not list them.
 */
export function diagnose(deployment: string, podsJson: string | undefined, eventsJson: string | undefined): Diagnosis {
  const notes: string[] = [];
  const pods = items(podsJson);
  const events = items(eventsJson);
  if (!pods) notes.push("the Deployment's pods could not be listed");
  if (!events) notes.push("the namespace's events could not be listed");

  const warnings = (events ?? []).filter((e) => belongsTo(str(obj(e.involvedObject).name) ?? "", deployment));
  const latestEvent = (objectName: string, pred: (e: Obj) => boolean): string | undefined =>
    warnings
      .filter((e) => str(obj(e.involvedObject).name) === objectName && pred(e))
      .sort((a, b) => eventTime(b).localeCompare(eventTime(a)))
      .map((e) => str(e.message))
      .find(Boolean);

  const problems: Problem[] = [];
  for (const pod of pods ?? []) {
    const name = str(obj(pod.metadata).name) ?? "(unnamed)";
    const status = obj(pod.status);
    const conditions = list(status.conditions);
    const ready = conditions.some((c) => c.type === "Ready" && c.status === "True");
    if (ready || status.phase === "Succeeded") continue;

    const unscheduled = conditions.find((c) => c.type === "PodScheduled" && c.status === "False");
    if (unscheduled) {
      problems.push({
        reason: str(unscheduled.reason) ?? "Unschedulable",
        where: `pod ${name}`,
        message: str(unscheduled.message) ?? latestEvent(name, (e) => e.reason === "FailedScheduling") ?? "the pod cannot be scheduled",
      });
      continue;
    }

    const before = problems.length;
    const statuses = [
      ...list(status.initContainerStatuses).map((s) => ({ s, init: true })),
      ...list(status.containerStatuses).map((s) => ({ s, init: false })),
    ];
    for (const { s, init } of statuses) {
      const where = `pod ${name}, ${init ? "init container" : "container"} ${str(s.name) ?? "?"}`;
      const waiting = obj(obj(s.state).waiting);
      const terminated = obj(obj(s.state).terminated);
      const last = obj(obj(s.lastState).terminated);
      const waitingReason = str(waiting.reason);
      if (waitingReason && waitingReason !== "ContainerCreating" && waitingReason !== "PodInitializing") {
        let message = str(waiting.message) ?? "";
        if (waitingReason === "ImagePullBackOff" || waitingReason === "ErrImagePull") {
          message = latestEvent(name, (e) => e.reason === "Failed" && /pull/i.test(str(e.message) ?? "")) ?? message;
        }
        if (waitingReason === "CrashLoopBackOff" && Object.keys(last).length) {
          const lastReason = str(last.reason);
          if (lastReason === "OOMKilled") {
            problems.push({
              reason: "OOMKilled",
              where,
              message: "the container was killed for exceeding its memory limit (resources.limits.memory)",
            });
          }
          message = `last exit: ${describeTermination(last)}`;
        }
        problems.push({ reason: waitingReason, where, message: message || waitingReason });
        continue;
      }
      if (str(terminated.reason) && !init) {
        problems.push({ reason: str(terminated.reason)!, where, message: describeTermination(terminated) });
        continue;
      }
      if (!init && obj(s.state).running && s.ready !== true) {
        const probe = latestEvent(name, (e) => e.reason === "Unhealthy" && /readiness/i.test(str(e.message) ?? ""));
        problems.push(
          probe
            ? { reason: "ReadinessProbeFailed", where, message: probe }
            : { reason: "NotReady", where, message: "running but not ready (its readiness probe has not passed yet)" },
        );
      }
    }
    if (problems.length === before) {
      const mount = latestEvent(name, (e) => e.reason === "FailedMount");
      problems.push(
        mount
          ? { reason: "FailedMount", where: `pod ${name}`, message: mount }
          : { reason: "Pending", where: `pod ${name}`, message: `phase ${str(status.phase) ?? "unknown"}, no container reported a reason` },
      );
    }
  }

  // Pods that were never created: the ReplicaSet says why (quota, PodSecurity admission...).
  for (const e of warnings) {
    const involved = obj(e.involvedObject);
    if (involved.kind === "ReplicaSet" && e.reason === "FailedCreate") {
      const where = `replicaset ${str(involved.name)}`;
      if (!problems.some((p) => p.where === where))
        problems.push({ reason: "FailedCreate", where, message: str(e.message) ?? "could not create pods" });
    }
  }

  problems.sort((a, b) => rank(a.reason) - rank(b.reason));
  return { problems, headline: headline(problems), notes };
}

function rank(reason: string): number {
  const i = RANK.indexOf(reason);
  return i < 0 ? RANK.length : i;
}

function eventTime(e: Obj): string {
  return str(e.lastTimestamp) ?? str(e.eventTime) ?? str(obj(e.metadata).creationTimestamp) ?? "";
}

function describeTermination(t: Obj): string {
  const parts = [str(t.reason) ?? "terminated"];
  if (typeof t.exitCode === "number") parts.push(`exit code ${t.exitCode}`);
  const msg = str(t.message)?.trim();
  return msg ? `${parts.join(", ")}: ${msg.split("\n").slice(-3).join(" ")}` : parts.join(", ");
}

/** The most telling problem, in plain words, with Kubernetes' reason in it. */
export function headline(problems: Problem[]): string {
  const p = problems[0];
  if (!p) return "no failing pod reported a reason (see kubectl rollout status's message)";
  const what: Record<string, string> = {
    InvalidImageName: "the image reference is invalid",
    ErrImagePull: "the image could not be pulled",
    ImagePullBackOff: "the image could not be pulled",
    CreateContainerConfigError: "the container could not be configured",
    CreateContainerError: "the container could not be created",
    RunContainerError: "the container could not be started",
    OOMKilled: "the app ran out of memory",
    CrashLoopBackOff: "the app keeps crashing",
    ReadinessProbeFailed: "the new pods never became ready (GET /readyz kept failing)",
    Unschedulable: "the new pods could not be scheduled",
    FailedCreate: "the new pods could not be created",
    FailedMount: "a volume could not be mounted",
    NotReady: "the new pods never became ready",
    Pending: "the new pods never started",
  };
  return `${what[p.reason] ?? "a pod failed"} (${p.reason}: ${p.message}; ${p.where})`;
}

/** The AKS server application: the audience of an Entra token for any AKS cluster's API. */
export const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";

/**
 * What to do when kubectl could not run the kubeconfig's exec credential plugin (client-go says
 * `getting credentials: exec: executable NAME not found`). An Entra ID AKS cluster's kubeconfig
 * from `az aks get-credentials` names kubelogin, which the kubectl image lacks. With
 * --entra-token, kubectl uses our token user (`--user`), never the plugin, so this cannot occur.
 */
export function credentialPluginHint(kubectlOutput: string): string | undefined {
  const plugin = /getting credentials: exec: executable (\S+) not found/.exec(kubectlOutput)?.[1];
  if (!plugin) return undefined;
  if (/(^|[/\\])kubelogin(\.exe)?$/.test(plugin)) {
    return [
      "this kubeconfig signs in with kubelogin, which is not in the kubectl container.",
      "Pass an Entra ID access token for AKS instead; the kubeconfig still gives the cluster's address:",
      `  export AKS_TOKEN=$(az account get-access-token --resource ${AKS_SERVER_APP_ID} --query accessToken --output tsv)`,
      "  dagger call with-cluster --kubeconfig file://./kubeconfig --entra-token env://AKS_TOKEN ...",
    ].join("\n");
  }
  return (
    `this kubeconfig signs in with the exec plugin "${plugin}", which is not in the kubectl container: ` +
    "use a kubeconfig whose user has a token or a client certificate (or, for AKS, --entra-token)"
  );
}
