/**
 * Signed models through the store's command, with the real OpenSSF model-signing library (the
 * repository's virtualenv) and a real server, once per backend (Azurite for Blob Storage,
 * versitygw for S3): publish --signing-key uploads model.sig before
 * model.json; fetch --public-key takes a signed version and refuses another signer, a signature
 * swapped in the store and an unsigned version, leaving nothing on disk.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../support/model-cli.js";
import { backendTitle, randomModel, startStoreSuite, stopStoreSuite, StoreSuite, tempDir } from "../support/model-fixtures.js";
import { BACKENDS } from "../support/store-servers.js";

for (const kind of BACKENDS) {
  const test = suite(`signed models through the command on ${backendTitle(kind)}`);
  let root: string;
  let server: StoreSuite["server"];
  let suiteState: Partial<StoreSuite> = {};

  test.before(async () => {
    suiteState = await startStoreSuite(kind);
    ({ server, root } = suiteState as StoreSuite);
  });

  test.after(() => stopStoreSuite(suiteState));

  const env = () => ({ HOME: root, ...server.cliEnv() });
  const at = () => [...server.cliFlags(), "--model-name", "signed"];

  /** An EC P-256 key pair as PEM files, as docs/models.md tells people to make one. */
  function keyPair(name: string): { key: string; pub: string } {
    const key = join(root, `${name}.key`);
    const pub = join(root, `${name}.pub`);
    execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
    execFileSync("openssl", ["ec", "-in", key, "-pubout", "-out", pub], { stdio: "ignore" });
    return { key, pub };
  }

  test("signed publish, verified fetch; another key, a swapped signature or no signature is refused and nothing is kept", async () => {
    const alice = keyPair("alice");
    const mallory = keyPair("mallory");
    const pub = await runCli(["publish", "--dir", randomModel(root, "1.0.0", 4096, "signed"), "--signing-key", alice.key, ...at()], env());
    assert.is(pub.code, 0, pub.stderr);
    assert.match(pub.stdout, /, signed, manifest sha256 /);
    const [sig, manifest] = [await server.lastModified("signed/1.0.0/model.sig"), await server.lastModified("signed/1.0.0/model.json")];
    assert.ok(sig <= manifest, "model.sig is written before model.json");

    const out = join(root, "ok");
    const ok = await runCli(["fetch", "--out", out, "--no-cache", "--public-key", alice.pub, ...at()], env());
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /, signed by key sha256:[0-9a-f]{64}\n$/);
    assert.ok(existsSync(join(out, "model.sig")), "the signature comes along (the pipeline's verify step reads it)");

    const refused = async (args: string[], pattern: RegExp) => {
      const parent = tempDir("refused-", root);
      const r = await runCli(["fetch", "--out", join(parent, "model"), "--no-cache", ...args, ...at()], env());
      assert.is(r.code, 1, r.stdout);
      assert.match(r.stderr, pattern);
      assert.equal(readdirSync(parent), [], "nothing left on disk");
    };
    await refused(["--public-key", mallory.pub], /^error: the signature of .* does not verify with this public key/);

    // A signature made by someone else for the same files, swapped into the store.
    const swapped = tempDir("swap-", root);
    const copy = join(swapped, "model");
    const fetched = await runCli(["fetch", "--out", copy, "--no-cache", ...at()], env());
    assert.is(fetched.code, 0, fetched.stderr);
    rmSync(join(copy, "model.sig"));
    execFileSync(join(process.cwd(), ".venv/bin/python"), ["model/sign_model.py", "sign", "--model", copy, "--private-key", mallory.key]);
    await server.plant("signed/1.0.0/model.sig", readFileSync(join(copy, "model.sig")));
    await refused(["--public-key", alice.pub], /does not verify with this public key/);

    const unsigned = await runCli(["publish", "--dir", randomModel(root, "1.1.0", 4096, "signed"), ...at()], env());
    assert.is(unsigned.code, 0, unsigned.stderr);
    await refused(["--model-version", "1.1.0", "--public-key", alice.pub], /has no model\.sig: this model version is not signed/);

    const wrongFlag = await runCli(["list", "--public-key", alice.pub, ...at()], env());
    assert.is(wrongFlag.code, 2);
    assert.match(wrongFlag.stderr, /--public-key only applies to fetch/);
  });

  test.run();
}
