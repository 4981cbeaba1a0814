/**
 * The embedded default's push, as argv, run by the real regctl (the version the pinned image
 * ships, built by scripts/setup-regctl.sh) against a real registry (Debian's docker-registry)
 * speaking plain HTTP on 127.0.0.1: an image tarball in the layout `Container.asTarball`
 * exports is imported under every tag, and every tag reads back as the one manifest digest.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { resolveDigest } from "../../dagger/src/registry/client.js";
import { agreedDigest, digestArgs, importArgs, REGCTL_USER, TarballPush } from "../../dagger/src/registry/regctl.js";
import { imageTarball } from "../support/oci-tarball.js";
import { startRegistry } from "../support/registry.js";
import { tempDir } from "../support/temp.js";

const home = tempDir("regctl-home-");

/** The argv as the module builds it, with the local binary and tarball in place of the container's. */
function regctl(argv: string[]) {
  const r = spawnSync("regctl", argv.slice(1), { encoding: "utf8", env: { ...process.env, HOME: home }, timeout: 60_000 });
  if (r.error) throw new Error(`regctl could not be run (npm run setup:regctl builds it): ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const dockerManifest of [false, true]) {
  test(`every tag of an image tarball (OCI layout${dockerManifest ? " + manifest.json" : ""}) lands on the tarball's manifest digest, over plain HTTP`, async () => {
    const registry = await startRegistry();
    try {
      const tarball = imageTarball(`seed-${dockerManifest}`, { dockerManifest });
      const push: TarballPush = { registry: registry.address, repository: "ai-app", tags: ["0123abc", "model-1.0.0", "main"] };
      for (const tag of push.tags) {
        const r = regctl(importArgs(push, tag, "regctl", tarball.path));
        assert.is(r.status, 0, r.stderr);
      }
      const outputs = push.tags.map((tag) => {
        const r = regctl(digestArgs(push, tag, "regctl"));
        assert.is(r.status, 0, r.stderr);
        return r.stdout;
      });
      assert.is(agreedDigest(push, outputs), tarball.manifestDigest);
      // the registry's own answer, through the module's OCI client, agrees
      const resolved = await resolveDigest({ registry: registry.address, repository: "ai-app", tag: "main" }, { kind: "anonymous" });
      assert.is(resolved.digest, tarball.manifestDigest);
    } finally {
      await registry.stop();
    }
  });
}

test("without the plain-HTTP host flag the same import fails (TLS to a plain-HTTP registry): the flag is what makes it work", async () => {
  const registry = await startRegistry();
  try {
    const tarball = imageTarball("no-flag");
    const argv = importArgs({ registry: registry.address, repository: "ai-app", tags: ["x"] }, "x", "regctl", tarball.path);
    const withoutFlag = argv.filter((a, i) => a !== "--host" && argv[i - 1] !== "--host");
    const r = regctl(withoutFlag);
    assert.is.not(r.status, 0, "pushed over TLS to a plain-HTTP registry?");
  } finally {
    await registry.stop();
  }
});

test("the tarball must be handed to regctl's user: root-owned 0600 (as asTarball writes it) is unreadable to uid 1000, chowned it pushes", async () => {
  if (process.getuid?.() !== 0) {
    console.warn("  (skipped: needs root to run regctl as another user; CI runs as root)");
    return;
  }
  const registry = await startRegistry();
  try {
    const tarball = imageTarball("owner");
    const dir = tempDir("regctl-owner-");
    const tar = join(dir, "image.tar");
    copyFileSync(tarball.path, tar);
    chmodSync(dir, 0o755);
    chmodSync(tar, 0o600);
    const [uid, gid] = REGCTL_USER.split(":").map(Number) as [number, number];
    const push: TarballPush = { registry: registry.address, repository: "ai-app", tags: ["x"] };
    const asImageUser = () =>
      spawnSync(
        "setpriv",
        [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "regctl", ...importArgs(push, "x", "regctl", tar).slice(1)],
        { encoding: "utf8", env: { ...process.env, HOME: "/" }, timeout: 60_000 },
      );
    const rootOwned = asImageUser();
    assert.is.not(rootOwned.status, 0);
    assert.match(rootOwned.stderr, /permission denied/);
    chownSync(tar, uid, gid); // what withMountedFile's owner option does
    const handedOver = asImageUser();
    assert.is(handedOver.status, 0, handedOver.stderr);
  } finally {
    await registry.stop();
  }
});

test("tags that disagree, or a missing digest, are errors that name the tags", () => {
  const p: TarballPush = { registry: "registry:5000", repository: "ai-app", tags: ["a", "b"] };
  assert.throws(
    () => agreedDigest(p, [`sha256:${"1".repeat(64)}\n`, `sha256:${"2".repeat(64)}\n`]),
    /tags a, b of registry:5000\/ai-app name different digests/,
  );
  assert.throws(() => agreedDigest(p, [`sha256:${"1".repeat(64)}`, "error: not found"]), /no digest for registry:5000\/ai-app:b/);
  assert.is(agreedDigest(p, [`sha256:${"1".repeat(64)}\n`, `sha256:${"1".repeat(64)}`]), `sha256:${"1".repeat(64)}`);
});

test.run();
