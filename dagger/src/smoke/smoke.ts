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

/** Pod-level hardening, so the smoke pod passes the "restricted" Pod Security Standard. */
function overrides(): string {
  return JSON.stringify({
    apiVersion: "v1",
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: APP_UID, seccompProfile: { type: "RuntimeDefault" } },
      containers: [{
        name: "smoke",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
      }],
    },
  });
}

/**
 * kubectl arguments (no shell) that run the smoke check and exit with its status;
 * `targetFlags` (context, user) go before the pod's command.
 */
export function smokeTestArgs(t: SmokeTarget, targetFlags: string[] = []): string[] {
  const name = `smoke-${t.runId}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63).replace(/-+$/, "");
  return [
    "kubectl", "run", name,
    "--namespace", t.namespace,
    "--image", t.image,
    "--restart=Never", "--rm", "--attach", "--quiet",
    "--pod-running-timeout=3m",
    `--overrides=${overrides()}`,
    ...targetFlags.filter((f) => !f.startsWith("--namespace")),
    "--command", "--",
    "python", "-c", SCRIPT, t.url, t.modelSha256 ?? "",
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
