/** What `ci` and `release` tell their caller: a short, stable, greppable report. */

export interface CiReport {
  mode: "embedded" | "configured";
  tests: string;
  /** The model built in; `signer` when its signature was verified (--public-key). */
  model: { name: string; version: string; sha256: string; signer?: string };
  /** The pushed image by digest; absent when nothing was published (e.g. pull requests). */
  image?: string;
  tags?: string[];
  /** The signature and attestations on the pushed digest (with-image-signing). */
  signature?: string;
  /** The vulnerability gate's verdict (--fail-on-severity). */
  vulnerabilities?: string;
  /** Embedded default only: the deploy summary and the smoke test's verdict. */
  deployed?: string;
  smoke?: string;
}

export function formatCiReport(r: CiReport): string {
  const lines = [
    `mode: ${r.mode === "embedded" ? "embedded default (Azurite, registry and k3s inside Dagger)" : "configured (with-store / with-registry / --model)"}`,
    `tests: ${r.tests}`,
    `model: ${r.model.name} ${r.model.version} sha256:${r.model.sha256}${r.model.signer ? `, signed by ${r.model.signer}` : ""}`,
    `image: ${r.image ?? "not published (no with-registry configured)"}`,
  ];
  if (r.tags) lines.push(`tags: ${r.tags.join(", ")}`);
  if (r.vulnerabilities) lines.push(`vulnerabilities: ${r.vulnerabilities}`);
  if (r.signature) lines.push(`signature: ${r.signature}`);
  if (r.deployed) lines.push(`deploy: ${r.deployed}`);
  if (r.smoke) lines.push(`smoke test: ${r.smoke}`);
  return lines.join("\n");
}

export interface ReleaseReport {
  /** The moving tag resolved (main); "" for promote, abort and rollback. */
  channel: string;
  /** The channel's digest reference: what was deployed, or (dry run) would be. */
  image: string;
  /** From the image's labels. */
  model?: { name: string; version: string; sha256: string };
  /** Git revision the image was built from, from its labels. */
  revision?: string;
  /** Nothing was changed: the diff is what a release would change. */
  dryRun: boolean;
  /** The deploy step's outcome. */
  deployed: string;
  smoke: string;
  /** Dry run only: the server-side diff, or a line saying there is none. */
  diff?: string;
}

export function formatReleaseReport(r: ReleaseReport): string {
  const lines = [
    r.dryRun ? `dry run: ${r.channel} -> ${r.image} (nothing was changed)` : `released: ${r.channel} -> ${r.image}`,
    ...(r.model ? [`model: ${r.model.name} ${r.model.version} sha256:${r.model.sha256}`] : []),
    ...(r.revision ? [`revision: ${r.revision}`] : []),
    `deploy: ${r.deployed}`,
    `smoke test: ${r.smoke}`,
  ];
  if (r.dryRun) lines.push("diff (kubectl diff --server-side):", r.diff ?? "");
  return lines.join("\n");
}
