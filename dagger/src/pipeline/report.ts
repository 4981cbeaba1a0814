/** What `ci` and `release` tell their caller: a short, stable, greppable report. */

export interface CiReport {
  mode: "embedded" | "configured";
  tests: string;
  model: { name: string; version: string; sha256: string };
  /** The pushed image by digest; absent when nothing was published (e.g. pull requests). */
  image?: string;
  tags?: string[];
  /** Embedded default only: the deploy summary and the smoke test's verdict. */
  deployed?: string;
  smoke?: string;
}

export function formatCiReport(r: CiReport): string {
  const lines = [
    `mode: ${r.mode === "embedded" ? "embedded default (Azurite, registry and k3s inside Dagger)" : "configured (with-store / with-registry / --model)"}`,
    `tests: ${r.tests}`,
    `model: ${r.model.name} ${r.model.version} sha256:${r.model.sha256}`,
    `image: ${r.image ?? "not published (no with-registry configured)"}`,
  ];
  if (r.tags) lines.push(`tags: ${r.tags.join(", ")}`);
  if (r.deployed) lines.push(`deploy: ${r.deployed}`);
  if (r.smoke) lines.push(`smoke test: ${r.smoke}`);
  return lines.join("\n");
}

export interface ReleaseReport {
  tag: string;
  image: string;
  deployed: string;
  smoke: string;
}

export function formatReleaseReport(r: ReleaseReport): string {
  return [`released: ${r.tag} -> ${r.image}`, `deploy: ${r.deployed}`, `smoke test: ${r.smoke}`].join("\n");
}
