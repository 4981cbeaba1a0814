/**
 * The optional vulnerability gate of `ci`: Trivy scans the built image (its tarball, before any
 * push) against a vulnerability database, and `ci` fails when anything at or above the threshold
 * is found. The database is Trivy's own, downloaded by Trivy, or a directory given to ci (an
 * offline mirror; the tests build one from a fixture).
 */
import { Container, Directory } from "@dagger.io/dagger";
import { SBOM_IMAGE_DIR, TRIVY_CACHE, TRIVY_QUIET, trivyWithImage } from "./sbom.js";
import { ExecSession, joinedOutput, tail } from "../shared/exec.js";

export const SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SCAN_OUTPUT = "/work/vulnerabilities.json";

/** "high" -> HIGH; anything else is refused with the accepted values. */
export function parseSeverity(value: string): Severity {
  const v = value.trim().toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(v)) return v as Severity;
  throw new Error(
    `--fail-on-severity ${JSON.stringify(value)}: use one of ${SEVERITIES.map((s) => s.toLowerCase()).join(", ")} (the gate fails on that severity and above)`,
  );
}

/** The threshold and every severity above it, as trivy's --severity list. */
export function severitiesFrom(threshold: Severity): Severity[] {
  return SEVERITIES.slice(SEVERITIES.indexOf(threshold));
}

export function scanArgs(threshold: Severity, offlineDb: boolean): string[] {
  return [
    "trivy",
    "image",
    "--input",
    SBOM_IMAGE_DIR,
    "--scanners",
    "vuln",
    "--severity",
    severitiesFrom(threshold).join(","),
    "--format",
    "json",
    "--output",
    SCAN_OUTPUT,
    "--exit-code",
    "0",
    "--cache-dir",
    TRIVY_CACHE,
    ...(offlineDb ? ["--skip-db-update", "--offline-scan"] : []),
    ...TRIVY_QUIET,
  ];
}

export interface Finding {
  id: string;
  pkg: string;
  installed: string;
  fixed: string;
  severity: string;
  target: string;
}

/** Every vulnerability in trivy's JSON report at or above `threshold`, worst first. */
export function findingsAtOrAbove(report: string, threshold: Severity): Finding[] {
  const doc = JSON.parse(report) as { Results?: { Target?: string; Vulnerabilities?: Record<string, unknown>[] | null }[] | null };
  const floor = SEVERITIES.indexOf(threshold);
  const found: Finding[] = [];
  for (const r of doc.Results ?? []) {
    for (const v of r.Vulnerabilities ?? []) {
      const severity = String(v.Severity ?? "UNKNOWN").toUpperCase();
      if (SEVERITIES.indexOf(severity as Severity) < floor) continue;
      found.push({
        id: String(v.VulnerabilityID ?? "?"),
        pkg: String(v.PkgName ?? "?"),
        installed: String(v.InstalledVersion ?? "?"),
        fixed: String(v.FixedVersion ?? ""),
        severity,
        target: String(r.Target ?? ""),
      });
    }
  }
  return found.sort(
    (a, b) => SEVERITIES.indexOf(b.severity as Severity) - SEVERITIES.indexOf(a.severity as Severity) || a.id.localeCompare(b.id),
  );
}

export class VulnerabilityGateFailed extends Error {
  override name = "VulnerabilityGateFailed";
}

/** The gate's verdict: a line for the report, or the error listing what was found (at most 20). */
export function gateVerdict(findings: Finding[], threshold: Severity): string {
  if (!findings.length) return `no vulnerabilities at ${threshold} or above`;
  const shown = findings
    .slice(0, 20)
    .map((f) => `  - ${f.severity} ${f.id} in ${f.pkg} ${f.installed}${f.fixed ? ` (fixed in ${f.fixed})` : ""}`);
  const more = findings.length > shown.length ? [`  ... and ${findings.length - shown.length} more`] : [];
  throw new VulnerabilityGateFailed(
    [
      `ci: vulnerability gate: ${findings.length} vulnerabilit${findings.length === 1 ? "y" : "ies"} at ${threshold} or above in the image; nothing was pushed. Update the packages (fixed versions below) or raise --fail-on-severity.`,
      ...shown,
      ...more,
    ].join("\n"),
  );
}

/** Scans `image` with trivy; throws VulnerabilityGateFailed (nothing pushed yet) or a clear scan error. */
export async function vulnerabilityGate(image: Container, threshold: Severity, database?: Directory): Promise<string> {
  let ctr = trivyWithImage(image);
  if (database) ctr = ctr.withDirectory(TRIVY_CACHE, database);
  const session = new ExecSession(ctr);
  const r = await session.run(scanArgs(threshold, database !== undefined));
  if (r.exitCode !== 0) {
    const out = joinedOutput(r);
    const hint = database
      ? "the --vulnerability-db directory must hold trivy's database as trivy's cache does (db/trivy.db and db/metadata.json)"
      : "trivy downloads its database from its registry (mirror.gcr.io / ghcr.io); where that is not reachable, pass a mirrored copy with --vulnerability-db";
    throw new Error(`ci: the vulnerability scan could not run (${hint}):\n${tail(out, 15)}`);
  }
  const report = await session.container.file(SCAN_OUTPUT).contents();
  return gateVerdict(findingsAtOrAbove(report, threshold), threshold);
}
