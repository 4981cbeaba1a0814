/**
 * The model store on the real engine against Azurite on this machine (127.0.0.1:10000, reached by the
 * engine as a host service through the CLI's session): publish-model signed, a second publish of the
 * same version refused, model-versions, fetch-model with --public-key (and refused with another
 * key), set-alias and fetch by @alias, yank and what "latest" does then.
 */
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, DaggerResult, tail } from "../support/dagger-cli.js";
import { HostAzurite, startAzuriteAt } from "../support/azurite-at.js";
import { fetchedVersion } from "../support/fetched-model.js";
import { tempDir } from "../support/temp.js";

const PORT = 10000;
const STORE = ["call", "with-store", "--store-service", `tcp://127.0.0.1:${PORT}`];
const dir = tempDir("e2e-store-");
/** alias moves and yanks record who made them (or the revision): the module refuses them otherwise */
const BY = "npm run e2e";
let azurite: HostAzurite | undefined;

async function run(args: string[], label: string): Promise<DaggerResult> {
  const r = await dagger(args, { label });
  console.log(`    ${callLine(r)}`);
  return r;
}

async function ok(args: string[], label: string): Promise<DaggerResult> {
  const r = await run(args, label);
  assert.is(r.code, 0, `${label} failed:\n${tail(both(r), 40)}`);
  return r;
}

function keyPair(name: string): { key: string; pub: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
  return { key, pub };
}

const signer = keyPair("signer");
const stranger = keyPair("stranger");

test.before(async () => {
  azurite = await startAzuriteAt(PORT);
});
test.after(async () => {
  await azurite?.stop();
});

test("train two sample model versions and publish both signed (publish-model --signing-key)", async () => {
  for (const v of ["1.0.0", "1.1.0"]) {
    await ok(["call", "train-sample-model", "--model-version", v, "export", "--path", join(dir, `model-${v}`)], `train-${v}`);
    const r = await ok(
      [...STORE, "publish-model", "--model", join(dir, `model-${v}`), "--signing-key", `file://${signer.key}`],
      `publish-${v}`,
    );
    assert.ok(r.stdout.includes(v), `publish-model ${v} does not name the version: ${r.stdout}`);
    console.log(`    publish-model ${v}: ${r.stdout.trim().split("\n").join(" | ")}`);
  }
});

test("publishing a version again is refused and changes nothing", async () => {
  const r = await run([...STORE, "publish-model", "--model", join(dir, "model-1.0.0")], "publish-again");
  assert.is.not(r.code, 0, `a second publish of 1.0.0 succeeded:\n${r.stdout}`);
  const error = /^Error: (.*)$/m.exec(r.stderr)?.[1] ?? "";
  console.log(`    refused: ${error}`);
  assert.match(error, /1\.0\.0 already exists/, tail(both(r), 30));
});

test("model-versions lists both, 1.1.0 latest", async () => {
  const r = await ok([...STORE, "model-versions", "summary"], "model-versions");
  console.log(r.stdout.replace(/^/gm, "      "));
  assert.match(r.stdout, /1\.0\.0/);
  assert.match(r.stdout, /1\.1\.0[^\n]*latest|latest[^\n]*1\.1\.0/i);
});

test("fetch-model --public-key: latest is 1.1.0, every file verified; another key is refused", async () => {
  const out = join(dir, "fetched-latest");
  await ok([...STORE, "fetch-model", "--public-key", signer.pub, "export", "--path", out], "fetch-latest");
  assert.is(fetchedVersion(out), "1.1.0");
  assert.ok(readdirSync(out).includes("model.sig"), `no model.sig in ${readdirSync(out)}`);
  const refused = await run(
    [...STORE, "fetch-model", "--public-key", stranger.pub, "export", "--path", join(dir, "fetched-stranger")],
    "fetch-stranger",
  );
  assert.is.not(refused.code, 0, "a signature by another key was accepted");
  const error = /^Error: (.*)$/m.exec(refused.stderr)?.[1] ?? "";
  console.log(`    another key: ${error}`);
  assert.match(error, /signature/i, `refused, but not for the signature:\n${tail(both(refused), 30)}`);
});

test("set-alias champion -> 1.0.0, then fetch-model --model-version @champion gives 1.0.0", async () => {
  const r = await ok([...STORE, "set-alias", "--alias", "champion", "--model-version", "1.0.0", "--by", BY], "set-alias");
  console.log(`    set-alias: ${r.stdout.trim()}`);
  const out = join(dir, "fetched-champion");
  await ok(
    [...STORE, "fetch-model", "--model-version", "@champion", "--public-key", signer.pub, "export", "--path", out],
    "fetch-champion",
  );
  assert.is(fetchedVersion(out), "1.0.0");
});

test("yank 1.1.0: latest becomes 1.0.0; model-versions shows it yanked; an exact pin still fetches it", async () => {
  const r = await ok([...STORE, "yank", "--model-version", "1.1.0", "--reason", "e2e: withdrawn on purpose", "--by", BY], "yank");
  console.log(`    yank: ${r.stdout.trim()}`);
  const latest = join(dir, "fetched-after-yank");
  await ok([...STORE, "fetch-model", "--public-key", signer.pub, "export", "--path", latest], "fetch-after-yank");
  assert.is(fetchedVersion(latest), "1.0.0");
  const versions = await ok([...STORE, "model-versions", "summary"], "model-versions-after-yank");
  assert.match(versions.stdout, /1\.1\.0[^\n]*yank/i);
  const pinned = join(dir, "fetched-pinned");
  await ok(
    [...STORE, "fetch-model", "--model-version", "1.1.0", "--public-key", signer.pub, "export", "--path", pinned],
    "fetch-pinned-yanked",
  );
  assert.is(fetchedVersion(pinned), "1.1.0");
});

test.run();
