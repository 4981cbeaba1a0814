/**
 * `with-registry ... publish` to a TLS registry with Basic auth on the host end of the engine's veth
 * (docker-registry with a certificate for that address from the harness's test CA, which
 * `.ci/engine/up` installs into the engine): the push goes over HTTPS, by digest, with the password
 * as a Secret read from the environment; the module's own registry client (`image-digest`) reads
 * the tag back over the same TLS; without credentials it is refused with a clear line.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, DaggerResult, engineCert, tail } from "../support/dagger-cli.js";
import { httpsRequest } from "../support/https-request.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { tempDir } from "../support/temp.js";

const USER = "e2e-pusher";
const PASSWORD = randomBytes(18).toString("base64url");
const PASSWORD_ENV = "E2E_REGISTRY_PASSWORD";
const REPOSITORY = "e2e/tls";
const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
const dir = tempDir("e2e-tls-");
let registry: RunningRegistry | undefined;
let ca = "";
let published = "";

async function call(args: string[], label: string, withPassword = true): Promise<DaggerResult> {
  const r = await dagger(["call", ...args], { label, ...(withPassword ? { env: { [PASSWORD_ENV]: PASSWORD } } : {}) });
  console.log(`    ${callLine(r)}`);
  // whatever happened, the password is in no output and no log
  assert.not.ok(both(r).includes(PASSWORD), `${label}: the registry password appears in the call's output`);
  assert.not.ok(readFileSync(r.log, "utf8").includes(PASSWORD), `${label}: the registry password appears in ${r.log}`);
  return r;
}

const withRegistry = (auth: boolean): string[] => [
  "with-registry",
  "--address",
  registry!.address,
  "--repository",
  REPOSITORY,
  ...(auth ? ["--username", USER, "--password", `env://${PASSWORD_ENV}`] : []),
];

test.before(async () => {
  const tls = engineCert();
  ca = tls.ca;
  registry = await startRegistry({ host: tls.hostIp, tls, users: { [USER]: PASSWORD } });
  console.log(`    TLS registry with Basic auth at ${registry.url}`);
});

test.after(async () => {
  await registry?.stop();
});

test("the registry refuses an anonymous read: the credentials below are needed", async () => {
  const res = await httpsRequest(`${registry!.url}/v2/`, { ca });
  assert.is(res.status, 401);
});

test("with-registry (TLS, --password as a secret) publish: pushed by digest, the channel tag names it", async () => {
  const model = join(dir, "model");
  const trained = await call(["train-sample-model", "export", "--path", model], "train-sample-model-export", false);
  assert.is(trained.code, 0, tail(both(trained), 30));
  const r = await call(
    ["--revision", "e2e-tls", ...withRegistry(true), "publish", "--channel", "main", "--model", model, "image"],
    "publish-tls",
  );
  assert.is(r.code, 0, tail(both(r), 60));
  const m = new RegExp(`^${registry!.address.replace(/\./g, "\\.")}/${REPOSITORY}@(sha256:[0-9a-f]{64})$`).exec(r.stdout.trim());
  assert.ok(m, `publish did not print ${registry!.address}/${REPOSITORY}@sha256:...: ${r.stdout.trim()}`);
  published = r.stdout.trim();
  const head = await httpsRequest(`${registry!.url}/v2/${REPOSITORY}/manifests/main`, {
    ca,
    method: "HEAD",
    auth: `${USER}:${PASSWORD}`,
    headers: { accept: ACCEPT },
  });
  assert.is(head.status, 200, `HEAD ${REPOSITORY}:main over TLS: HTTP ${head.status}`);
  assert.is(head.headers["docker-content-digest"], m![1], "the main tag names another digest than publish printed");
});

test("image-digest over the same TLS, with credentials: the module's own registry client reads the digest back", async () => {
  assert.ok(published, "publish above did not push");
  const r = await call([...withRegistry(true), "image-digest", "--channel", "main"], "image-digest-tls");
  assert.is(r.code, 0, tail(both(r), 40));
  assert.is(r.stdout.trim(), published);
});

test("image-digest without credentials: refused, saying so in one line", async () => {
  const r = await call([...withRegistry(false), "image-digest", "--channel", "main"], "image-digest-anonymous", false);
  assert.is.not(r.code, 0, `an anonymous image-digest succeeded: ${r.stdout}`);
  const text = both(r);
  assert.ok(/401|unauthori[sz]ed|credentials|--username|--password/i.test(text), `no word of authentication in:\n${tail(text, 30)}`);
  assert.ok(text.includes(registry!.address), `the error does not name the registry:\n${tail(text, 30)}`);
});

test.run();
