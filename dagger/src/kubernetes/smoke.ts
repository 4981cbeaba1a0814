/**
 * The post-deploy smoke test: a one-off pod running the deployed image itself (it has Python
 * and Pillow) that checks /readyz, /version and one /score from inside the cluster. Going
 * through `kubectl run` works the same on AKS and on the embedded k3s, and needs no public IP.
 */
import { readFileSync } from "node:fs";
import { APP_UID } from "../images.js";

const SCRIPT = readFileSync(new URL("./smoke_check.py", import.meta.url), "utf8");

export interface SmokeTarget {
  /** The image just deployed, by digest. */
  image: string;
  namespace: string;
  /** In-cluster base URL of the app's Service, e.g. http://ai-app.default.svc:80 */
  url: string;
  /** The model sha256 the image was built with; /version must report it. */
  modelSha256?: string;
  /** Unique pod name suffix, so concurrent runs do not collide. */
  runId: string;
}

/**
 * Hardening for the smoke pod, so it passes the "restricted" Pod Security Standard. Applied as a
 * strategic merge patch (`--override-type=strategic`): kubectl's default, a JSON merge patch,
 * replaces `spec.containers` whole and the API server then rejects a container with no image.
 * A strategic merge matches containers by name, and `kubectl run NAME` names its container NAME.
 */
export function smokeOverrides(podName: string): Record<string, unknown> {
  return {
    apiVersion: "v1",
    spec: {
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: APP_UID, runAsGroup: APP_UID, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: podName,
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
          resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } },
        },
      ],
    },
  };
}

/** The smoke pod's name: `smoke-<runId>`, as a DNS label. */
export function smokePodName(runId: string): string {
  return `smoke-${runId}`
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 63)
    .replace(/-+$/, "");
}

/**
 * kubectl arguments (no shell) that run the smoke check and exit with its status;
 * `targetFlags` (context, user) go before the pod's command.
 */
export function smokeTestArgs(t: SmokeTarget, targetFlags: string[] = []): string[] {
  const name = smokePodName(t.runId);
  return [
    "kubectl",
    "run",
    name,
    "--namespace",
    t.namespace,
    "--image",
    t.image,
    "--restart=Never",
    "--rm",
    "--attach",
    "--quiet",
    "--pod-running-timeout=3m",
    "--override-type=strategic",
    `--overrides=${JSON.stringify(smokeOverrides(name))}`,
    ...targetFlags.filter((f) => !f.startsWith("--namespace")),
    "--command",
    "--",
    "python",
    "-c",
    SCRIPT,
    t.url,
    t.modelSha256 ?? "",
  ];
}

export interface SmokeResult {
  ok: boolean;
  problems: string[];
  seen: Record<string, unknown>;
}

/** Reads the check's one JSON line out of kubectl's output (which may carry other lines). */
export function parseSmokeOutput(output: string): SmokeResult | undefined {
  for (const line of output.trim().split("\n").reverse()) {
    const s = line.trim();
    if (!s.startsWith("{")) continue;
    try {
      const v = JSON.parse(s) as Partial<SmokeResult> & { error?: string };
      if (typeof v.ok === "boolean") {
        return { ok: v.ok, problems: v.problems ?? (v.error ? [v.error] : []), seen: v.seen ?? {} };
      }
    } catch {
      // not the result line
    }
  }
  return undefined;
}

/** The app's Service in k8s/service.yaml: its in-cluster DNS name is what the smoke test calls. */
export const APP_SERVICE = "ai-app";

/** The app's in-cluster base URL in `namespace`. */
export function appServiceUrl(namespace: string): string {
  return `http://${APP_SERVICE}.${namespace}.svc`;
}

export interface SmokeVerdict {
  ok: boolean;
  /** One line: what passed, or what failed and kubectl's exit code. */
  summary: string;
}

/** Judges the smoke pod's run from kubectl's exit code and the check's JSON line. */
export function judgeSmoke(r: { exitCode: number; stdout: string; stderr: string }): SmokeVerdict {
  const verdict = parseSmokeOutput(r.stdout);
  if (r.exitCode === 0 && verdict?.ok) {
    const model = verdict.seen.model as { name?: string; version?: string } | undefined;
    return {
      ok: true,
      summary: `passed (/readyz 200, model ${model?.name ?? "?"} ${model?.version ?? "?"}, /score recognised a known digit)`,
    };
  }
  const why = verdict?.problems.length ? verdict.problems.join("; ") : (r.stderr || r.stdout).trim().split("\n").slice(-5).join("\n");
  return { ok: false, summary: `failed (kubectl exit ${r.exitCode}): ${why}` };
}
