/**
 * The argv the pipeline gives trivy, run by the real trivy (.tools/bin, the image's version) on an
 * image tarball laid out as Container.asTarball() writes it, against a vulnerability database
 * built from test/fixtures/vulndb (no database can be downloaded here). Host level: the engine run
 * of the same steps is test/e2e/09-supply-chain.e2e.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  SBOM_IMAGE_DIR,
  SBOM_IMAGE_TAR,
  SBOM_OUTPUT,
  sbomArgs,
  sbomSummary,
  TRIVY_CACHE,
  unpackImageArgs,
  withModelComponents,
} from "../../dagger/src/supply-chain/sbom.js";
import { findingsAtOrAbove, gateVerdict, SCAN_OUTPUT, scanArgs } from "../../dagger/src/supply-chain/vuln-gate.js";
import { tempDir } from "../support/temp.js";

const ROOT = join(import.meta.dirname, "../..");
const TRIVY = join(ROOT, ".tools/bin/trivy");
const work = tempDir("trivy-argv-");
const tar = join(work, "image.tar");
const unpacked = join(work, "image");

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: work, env: { ...process.env, HOME: work, ...env }, timeout: 180_000 });
  if (r.error) throw new Error(`${cmd} could not be run: ${r.error.message}`);
  return r;
}
function ok(cmd: string, args: string[]) {
  const r = run(cmd, args);
  assert.is(r.status, 0, `${cmd} ${args.join(" ")}\n${r.stderr}`);
  return r;
}

/** The pipeline's argv with its container paths moved into this test's directory. */
function onHost(argv: string[], cache = "", output = ""): string[] {
  const moved: Record<string, string> = {
    [SBOM_IMAGE_TAR]: tar,
    [SBOM_IMAGE_DIR]: unpacked,
    [TRIVY_CACHE]: cache,
    [SBOM_OUTPUT]: output,
    [SCAN_OUTPUT]: output,
  };
  return argv.slice(1).map((a) => moved[a] ?? a);
}

// A base layer uncompressed under a gzipped one, as asTarball wrote the app image on the engine.
ok("python3", [join(ROOT, "scripts/trivy-fixture-db/make-test-image.py"), tar]);
mkdirSync(unpacked);
const unpack = unpackImageArgs();
ok(unpack[0]!, onHost(unpack));
const requirements = readFileSync(join(ROOT, "app/requirements.txt"), "utf8");
const flask = /^flask==(\S+)/m.exec(requirements)![1]!;

test("the tarball itself is what trivy misreads (mixed layer compression): the reason for unpacking it", () => {
  const args = onHost(sbomArgs(), join(work, "tar-cache"), join(work, "from-tar.json")).map((a) => (a === unpacked ? tar : a));
  const r = run(TRIVY, args);
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /failed to extract the archive/);
});

test("the SBOM argv works on an empty cache, offline, and lists the dpkg and pip packages", () => {
  const out = join(work, "sbom.cdx.json");
  ok(TRIVY, onHost(sbomArgs(), join(work, "empty-cache"), out));
  const sbom = withModelComponents(readFileSync(out, "utf8"), {
    name: "m",
    version: "1",
    files: [{ path: "model.onnx", sha256: "c".repeat(64), size: 1 }],
  });
  const purls = (JSON.parse(sbom) as { components: { purl?: string }[] }).components.map((c) => c.purl ?? "");
  assert.ok(purls.includes(`pkg:pypi/flask@${flask}`), purls.join("\n"));
  assert.ok(
    purls.some((p) => p.startsWith("pkg:deb/debian/zlib1g@")),
    purls.join("\n"),
  );
  const summary = sbomSummary(sbom);
  assert.ok(summary.os > 0 && summary.python > 0, JSON.stringify(summary));
  assert.is(summary.modelFiles, 1);
});

const db = join(work, "db-cache");
ok("bash", [join(ROOT, "scripts/build-trivy-fixture-db.sh"), db]);

test("the gate argv against the fixture database: HIGH and above are exactly the two fixture advisories that apply", () => {
  const out = join(work, "scan.json");
  ok(TRIVY, onHost(scanArgs("HIGH", true), db, out));
  const found = findingsAtOrAbove(readFileSync(out, "utf8"), "HIGH");
  assert.equal(
    found.map((f) => `${f.severity} ${f.id} ${f.pkg}`),
    ["CRITICAL CVE-0000-0001 zlib1g", `HIGH CVE-0000-0002 flask`],
  );
  assert.throws(() => gateVerdict(found, "HIGH"), /2 vulnerabilities at HIGH or above/);
  // CRITICAL alone: the flask one is below the threshold (trivy's --severity filters it out).
  ok(TRIVY, onHost(scanArgs("CRITICAL", true), db, out));
  assert.equal(
    findingsAtOrAbove(readFileSync(out, "utf8"), "CRITICAL").map((f) => f.id),
    ["CVE-0000-0001"],
  );
});

test("the gate argv on a cache without a database fails (the pipeline reports that the scan could not run)", () => {
  const r = run(TRIVY, onHost(scanArgs("HIGH", true), join(work, "no-db"), join(work, "none.json")));
  assert.is.not(r.status, 0);
  assert.match(r.stderr, /cannot be specified on the first run/);
});

test("the fixture database passes its own checks against this trivy (scripts/trivy-fixture-db/check.sh)", () => {
  const r = run("bash", [join(ROOT, "scripts/trivy-fixture-db/check.sh")], { TRIVY });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\d+ passed, 0 failed/);
});

test.run();
