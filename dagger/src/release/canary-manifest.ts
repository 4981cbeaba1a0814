/**
 * The canary Deployment, rendered from the stable one in k8s/ (already rendered for the new
 * image): the same pod template, named `<app>-canary`, with a track label in its selector and its
 * pods. The Service selects only `app.kubernetes.io/name`, so it sends traffic to stable and
 * canary pods alike; the canary's share is its share of the ready pods. Pure: text in, text out.
 */
import { Document } from "yaml";
import { documentText, ManifestFile, parseManifests, stringScalar } from "../kubernetes/documents.js";
import { RenderError, setStringEntries } from "../kubernetes/render.js";

/** The label that tells canary pods (and the canary Deployment) from stable ones. */
export const TRACK_LABEL = "ai-app-pipeline/track";
export const CANARY_TRACK = "canary";
/** The release that made a canary: lets the next release, abort or promote name what it found. */
export const RELEASE_ID_LABEL = "ai-app-pipeline/release-id";

/** Every canary this pipeline makes carries this label: what leftovers are found by. */
export const CANARY_SELECTOR: Record<string, string> = { [TRACK_LABEL]: CANARY_TRACK };

export const canaryName = (stable: string): string => `${stable}-canary`;

export interface CanaryManifest {
  /** The canary Deployment's name. */
  name: string;
  /** Its pods' selector (the stable's plus the track label). */
  selector: Record<string, string>;
  /** The Deployment's YAML for a replica count. */
  manifest(replicas: number): string;
}

/** A release id usable as a label value: lowercase letters and digits, 1 to 63 characters. */
export function checkReleaseId(id: string): string {
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(id)) {
    throw new RenderError(`release id "${id}" is not a label value (lowercase letters, digits and '-', at most 63)`);
  }
  return id;
}

/** The canary for the one Deployment of `rendered` (k8s/ rendered for the new image). */
export function renderCanary(rendered: ManifestFile[], releaseId: string): CanaryManifest {
  checkReleaseId(releaseId);
  const found = parseManifests(rendered).docs.find((d) => (d.object as { kind?: unknown }).kind === "Deployment");
  if (!found) throw new RenderError("no Deployment in the rendered manifests to make a canary of");
  const stable = found.object as { metadata?: { name?: string }; spec?: { selector?: { matchLabels?: Record<string, string> } } };
  const stableName = stable.metadata?.name;
  if (!stableName) throw new RenderError("the Deployment has no metadata.name");
  const name = canaryName(stableName);
  const selector = { ...(stable.spec?.selector?.matchLabels ?? {}), ...CANARY_SELECTOR };
  const labels = { ...CANARY_SELECTOR, [RELEASE_ID_LABEL]: releaseId };
  return {
    name,
    selector,
    manifest(replicas: number): string {
      if (!Number.isInteger(replicas) || replicas < 1)
        throw new RenderError(`canary replicas must be a whole number of at least 1, got ${replicas}`);
      const doc = found.doc.clone() as Document;
      doc.setIn(["metadata", "name"], stringScalar(name));
      setStringEntries(doc, ["metadata", "labels"], labels);
      setStringEntries(doc, ["spec", "selector", "matchLabels"], CANARY_SELECTOR);
      setStringEntries(doc, ["spec", "template", "metadata", "labels"], labels);
      doc.setIn(["spec", "replicas"], replicas);
      // The canary is a short-lived copy: its rollout history is of no use to `rollout undo`.
      doc.setIn(["spec", "revisionHistoryLimit"], 0);
      return documentText(doc);
    },
  };
}
