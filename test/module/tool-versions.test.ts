/**
 * The binaries the tests drive are the versions the pipeline's images run: each setup script pins
 * the version of its image in images.ts (one place to bump both), and the binaries it put in
 * .tools/bin say that version.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IMAGES } from "../../dagger/src/images.js";
import { tempDir } from "../support/temp.js";

const ROOT = join(import.meta.dirname, "../..");
const tag = (image: string) => image.split(":").at(-1)!;

/** The Go module version a setup script builds (its `VERSION=`). */
function pinned(script: string): string {
  const m = /^VERSION=(\S+)$/m.exec(readFileSync(join(ROOT, "scripts", script), "utf8"));
  assert.ok(m, `scripts/${script} has no VERSION= line`);
  return m[1]!;
}

// trivy's image tag has no leading v; its module version has.
const TOOLS = [
  { name: "regctl", script: "setup-regctl.sh", version: tag(IMAGES.regctl) },
  { name: "cosign", script: "setup-cosign.sh", version: tag(IMAGES.cosign) },
  { name: "trivy", script: "setup-trivy.sh", version: `v${tag(IMAGES.trivy)}` },
];

for (const t of TOOLS)
  test(`scripts/${t.script} builds ${t.name} at the version of its image in images.ts (${t.version})`, () => {
    assert.is(pinned(t.script), t.version);
  });

const home = tempDir("tool-versions-home-");
function run(bin: string, args: string[]) {
  const r = spawnSync(join(ROOT, ".tools/bin", bin), args, { encoding: "utf8", env: { ...process.env, HOME: home }, timeout: 60_000 });
  if (r.error) throw new Error(`${bin} could not be run (sh scripts/setup-${bin}.sh builds it; npm install does): ${r.error.message}`);
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

test("the cosign in .tools/bin is the image's version", () => {
  const v = (JSON.parse(run("cosign", ["version", "--json"])) as { gitVersion: string }).gitVersion;
  assert.is(v, tag(IMAGES.cosign));
});

test("the trivy in .tools/bin is the image's version", () => {
  assert.match(run("trivy", ["--version"]), new RegExp(`^Version: ${tag(IMAGES.trivy).replaceAll(".", "\\.")}$`, "m"));
});

test.run();
