import { test } from "uvu";
import * as assert from "uvu/assert";
import { sbomSummary, withModelComponents } from "../../dagger/src/supply-chain/sbom.js";
import {
  findingsAtOrAbove,
  gateVerdict,
  parseSeverity,
  scanArgs,
  severitiesFrom,
  VulnerabilityGateFailed,
} from "../../dagger/src/supply-chain/vuln-gate.js";
import { supplyChainOptions } from "../../dagger/src/supply-chain/step.js";
import { imagePolicySettings, imageSigningSettings } from "../../dagger/src/supply-chain/settings.js";
import { DEFAULT_BUILDER_ID } from "../../dagger/src/supply-chain/provenance.js";

const SBOM = JSON.stringify({
  bomFormat: "CycloneDX",
  specVersion: "1.6",
  components: [
    { type: "library", name: "libssl3", version: "3.0.15-1~deb12u1", purl: "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?distro=debian-12" },
    { type: "library", name: "flask", version: "3.1.0", purl: "pkg:pypi/flask@3.1.0" },
  ],
});
const MANIFEST = {
  name: "digits-classifier",
  version: "1.4.0",
  files: [
    { path: "model.onnx", sha256: "a".repeat(64), size: 10 },
    { path: "labels/classes.txt", sha256: "b".repeat(64), size: 2 },
  ],
};

test("the model and each of its files join trivy's components, with their sha256 at the image path", () => {
  const out = JSON.parse(withModelComponents(SBOM, MANIFEST)) as { specVersion: string; components: Record<string, unknown>[] };
  assert.is(out.specVersion, "1.6");
  assert.is(out.components.length, 3);
  const model = out.components[2] as {
    type: string;
    name: string;
    version: string;
    components: { name: string; hashes: { alg: string; content: string }[] }[];
  };
  assert.is(model.type, "machine-learning-model");
  assert.is(`${model.name} ${model.version}`, "digits-classifier 1.4.0");
  assert.equal(
    model.components.map((f) => [f.name, f.hashes]),
    [
      ["/models/model.onnx", [{ alg: "SHA-256", content: "a".repeat(64) }]],
      ["/models/labels/classes.txt", [{ alg: "SHA-256", content: "b".repeat(64) }]],
    ],
  );
  assert.equal(sbomSummary(JSON.stringify(out)), { os: 1, python: 1, modelFiles: 2 });
  assert.throws(() => withModelComponents(JSON.stringify({ spdxVersion: "SPDX-2.3" }), MANIFEST), /not a CycloneDX/);
});

test("severities: a threshold means it and everything above; anything else is refused", () => {
  assert.is(parseSeverity(" high "), "HIGH");
  assert.equal(severitiesFrom("HIGH"), ["HIGH", "CRITICAL"]);
  assert.equal(severitiesFrom("LOW"), ["LOW", "MEDIUM", "HIGH", "CRITICAL"]);
  assert.throws(() => parseSeverity("severe"), /use one of low, medium, high, critical/);
  const args = scanArgs("MEDIUM", true);
  assert.ok(args.join(" ").includes("--severity MEDIUM,HIGH,CRITICAL"));
  assert.ok(args.includes("--offline-scan") && args.includes("--skip-db-update"));
  assert.not.ok(scanArgs("MEDIUM", false).includes("--offline-scan"));
});

const REPORT = JSON.stringify({
  Results: [
    {
      Target: "image.tar (debian 12.8)",
      Vulnerabilities: [
        {
          VulnerabilityID: "CVE-0000-0002",
          PkgName: "libssl3",
          InstalledVersion: "3.0.15-1~deb12u1",
          FixedVersion: "3.0.99",
          Severity: "CRITICAL",
        },
        { VulnerabilityID: "CVE-0000-0004", PkgName: "tar", InstalledVersion: "1.34", Severity: "LOW" },
      ],
    },
    {
      Target: "Python",
      Vulnerabilities: [
        { VulnerabilityID: "CVE-0000-0001", PkgName: "flask", InstalledVersion: "3.1.0", FixedVersion: "3.1.1", Severity: "HIGH" },
      ],
    },
    { Target: "empty", Vulnerabilities: null },
  ],
});

test("the gate lists what is at or above the threshold, worst first, and passes below it", () => {
  const high = findingsAtOrAbove(REPORT, "HIGH");
  assert.equal(
    high.map((f) => `${f.severity} ${f.id}`),
    ["CRITICAL CVE-0000-0002", "HIGH CVE-0000-0001"],
  );
  assert.throws(
    () => gateVerdict(high, "HIGH"),
    (e: Error) =>
      e instanceof VulnerabilityGateFailed &&
      /2 vulnerabilities at HIGH or above.*nothing was pushed/.test(e.message) &&
      e.message.includes("CRITICAL CVE-0000-0002 in libssl3 3.0.15-1~deb12u1 (fixed in 3.0.99)"),
  );
  assert.is(findingsAtOrAbove(REPORT, "CRITICAL").length, 1);
  assert.is(gateVerdict([], "CRITICAL"), "no vulnerabilities at CRITICAL or above");
  assert.is(findingsAtOrAbove(JSON.stringify({ Results: null }), "LOW").length, 0);
});

test("more than 20 findings: 20 shown and the rest counted", () => {
  const many = Array.from({ length: 25 }, (_, i) => ({
    id: `CVE-0000-${1000 + i}`,
    pkg: "p",
    installed: "1",
    fixed: "",
    severity: "HIGH",
    target: "t",
  }));
  assert.throws(() => gateVerdict(many, "HIGH"), /\.\.\. and 5 more/);
});

test("options are checked before anything runs: signing needs --source-url, a database needs a threshold", () => {
  const signing = { key: {} as never, builderId: DEFAULT_BUILDER_ID };
  assert.throws(() => supplyChainOptions({ signing, sourceUrl: " " }), /needs the source repository.*--source-url/);
  assert.throws(() => supplyChainOptions({ sourceUrl: "", vulnerabilityDb: {} as never }), /give --fail-on-severity too/);
  assert.throws(() => supplyChainOptions({ sourceUrl: "", failOnSeverity: "urgent" }), /--fail-on-severity "urgent"/);
  assert.is(supplyChainOptions({ sourceUrl: "" }), undefined);
  assert.equal(supplyChainOptions({ sourceUrl: "", failOnSeverity: "critical" }), { gate: { threshold: "CRITICAL" } });
});

test("builder ids must be URIs, repositories URLs", () => {
  assert.throws(() => imageSigningSettings({} as never, undefined, "my laptop"), /--builder-id "my laptop" is not a URI/);
  assert.is(imageSigningSettings({} as never, undefined, "").builderId, DEFAULT_BUILDER_ID);
  assert.throws(() => imagePolicySettings({} as never, "contoso/ai-app"), /not a repository URL/);
  assert.is(imagePolicySettings({} as never, " https://github.com/contoso/ai-app ").sourceRepository, "https://github.com/contoso/ai-app");
});

test.run();
