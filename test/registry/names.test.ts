/** Pure rules: OCI names, the tags of a build, WWW-Authenticate parsing, auth selection, backoff. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { tenantOfToken } from "../../dagger/src/registry/acr.js";
import { RegistryAuthError, selectRegistryAuth } from "../../dagger/src/registry/auth.js";
import { backoffDelay, parseChallenges } from "../../dagger/src/registry/http.js";
import { redact } from "../../dagger/src/credentials/redact.js";
import {
  buildTags,
  channelTag,
  checkDigest,
  checkRepository,
  checkTag,
  ImageNameError,
  modelVersionTag,
  parseReference,
  parseRegistry,
  registryBaseUrl,
  revisionTag,
} from "../../dagger/src/registry/names.js";
import { checkCreated } from "../../dagger/src/app-image/image.js";
import { fakeEntraToken } from "../support/fake-acr.js";

const throwsName = (fn: () => unknown, re: RegExp) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ImageNameError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected an ImageNameError matching ${re}`);
};

test("registry: host[:port], IPv4, bracketed IPv6; scheme, path, bad port and bad host are refused", () => {
  assert.equal(parseRegistry("myacr.azurecr.io"), { host: "myacr.azurecr.io", address: "myacr.azurecr.io" });
  assert.equal(parseRegistry("127.0.0.1:5000"), { host: "127.0.0.1", port: 5000, address: "127.0.0.1:5000" });
  assert.equal(parseRegistry("[::1]:5000").port, 5000);
  assert.is(parseRegistry("localhost").host, "localhost");
  throwsName(() => parseRegistry("https://myacr.azurecr.io"), /without a scheme \(e\.g\. myacr\.azurecr\.io\)/);
  throwsName(() => parseRegistry("myacr.azurecr.io/ai-app"), /put the path in --repository/);
  throwsName(() => parseRegistry("myacr.azurecr.io:0"), /invalid port/);
  throwsName(() => parseRegistry("myacr.azurecr.io:99999"), /invalid port/);
  throwsName(() => parseRegistry("my_acr.azurecr.io"), /not a valid host name/);
  throwsName(() => parseRegistry("-acr.io"), /not a valid host name/);
  throwsName(() => parseRegistry(""), /registry is empty/);
});

test("registry: loopback speaks http, everything else https", () => {
  assert.is(registryBaseUrl(parseRegistry("127.0.0.1:5000")), "http://127.0.0.1:5000");
  assert.is(registryBaseUrl(parseRegistry("localhost:5000")), "http://localhost:5000");
  assert.is(registryBaseUrl(parseRegistry("myacr.azurecr.io")), "https://myacr.azurecr.io");
  assert.is(registryBaseUrl(parseRegistry("10.0.0.1:5000")), "https://10.0.0.1:5000");
});

test("repository: lowercase path components with separators; uppercase, empty parts, tags and overlong names refused", () => {
  for (const ok of ["ai-app", "team/ai-app", "a/b/c", "a__b", "a.b_c", "a--b"]) assert.is(checkRepository(ok), ok);
  throwsName(() => checkRepository("AI-App"), /repository names are lowercase/);
  throwsName(() => checkRepository("team//app"), /invalid part: ""/);
  throwsName(() => checkRepository("-app"), /not a valid OCI repository name/);
  throwsName(() => checkRepository("app-"), /not a valid OCI repository name/);
  throwsName(() => checkRepository("ai-app:main"), /must not carry a tag/);
  throwsName(() => checkRepository(""), /repository is empty/);
  throwsName(() => checkRepository("a".repeat(240), "myacr.azurecr.io"), /over the 255 allowed/);
});

test("tag and digest grammar", () => {
  for (const ok of ["main", "v1.2.3", "_x", "A-b.c_d", "a".repeat(128)]) assert.is(checkTag(ok), ok);
  for (const bad of ["", ".hidden", "-x", "a/b", "a:b", "a".repeat(129), "a+b"]) throwsName(() => checkTag(bad), /not a valid OCI tag/);
  assert.is(checkDigest(`sha256:${"a".repeat(64)}`), `sha256:${"a".repeat(64)}`);
  throwsName(() => checkDigest(`sha256:${"A".repeat(64)}`), /not a sha256/);
  throwsName(() => checkDigest("sha256:abc"), /not a sha256/);
});

test("references parse into registry, repository, tag and digest", () => {
  const d = `sha256:${"c".repeat(64)}`;
  assert.equal(parseReference(`myacr.azurecr.io/team/ai-app:main@${d}`), {
    registry: "myacr.azurecr.io",
    repository: "team/ai-app",
    tag: "main",
    digest: d,
  });
  assert.equal(parseReference(`127.0.0.1:5000/ai-app@${d}`), { registry: "127.0.0.1:5000", repository: "ai-app", digest: d });
  throwsName(() => parseReference("ai-app:main"), /must start with a registry host/);
});

test("build tags: revision, model-<version>, channel from a branch; deduplicated", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  assert.is(revisionTag(sha), sha);
  assert.is(modelVersionTag("1.4.0"), "model-1.4.0");
  assert.is(modelVersionTag("2.0.0-rc.1+build.7"), "model-2.0.0-rc.1_build.7");
  assert.is(channelTag("main"), "main");
  assert.is(channelTag("refs/heads/main"), "main");
  assert.is(channelTag("refs/heads/feature/Login Page"), "feature-login-page");
  assert.is(channelTag("refs/heads/--weird//name.."), "weird-name");
  assert.is(channelTag("x".repeat(300)).length, 128);
  throwsName(() => channelTag("refs/heads/"), /empty channel tag/);
  throwsName(() => channelTag("///"), /empty channel tag/);
  throwsName(() => revisionTag("  "), /empty tag/);
  assert.equal(buildTags({ revision: sha, modelVersion: "1.4.0", channel: "refs/heads/main" }), [sha, "model-1.4.0", "main"]);
  assert.equal(buildTags({ revision: "main", modelVersion: "1.4.0", channel: "main" }), ["main", "model-1.4.0"]);
});

test("created must be RFC 3339", () => {
  assert.is(checkCreated("2025-01-31T12:00:00Z"), "2025-01-31T12:00:00Z");
  assert.is(checkCreated("2025-01-31T13:00:00+01:00"), "2025-01-31T13:00:00+01:00");
  for (const bad of ["2025-01-31", "yesterday", "2025-13-01T00:00:00Z", "1738324800"]) {
    assert.throws(() => checkCreated(bad), /not an RFC 3339 time/);
  }
});

test("WWW-Authenticate: ACR and distribution Bearer challenges, Basic, several challenges, escapes", () => {
  assert.equal(
    parseChallenges('Bearer realm="https://myacr.azurecr.io/oauth2/token",service="myacr.azurecr.io",scope="repository:ai-app:pull"'),
    [
      {
        scheme: "bearer",
        params: { realm: "https://myacr.azurecr.io/oauth2/token", service: "myacr.azurecr.io", scope: "repository:ai-app:pull" },
      },
    ],
  );
  assert.equal(parseChallenges('Basic realm="test-registry"'), [{ scheme: "basic", params: { realm: "test-registry" } }]);
  assert.equal(
    parseChallenges('Basic realm="a, b", Bearer realm="https://x/t", error="insufficient_scope"').map((c) => [c.scheme, c.params]),
    [
      ["basic", { realm: "a, b" }],
      ["bearer", { realm: "https://x/t", error: "insufficient_scope" }],
    ],
  );
  assert.equal(parseChallenges('Bearer realm="q\\"uote", service=plain'), [
    { scheme: "bearer", params: { realm: 'q"uote', service: "plain" } },
  ]);
  assert.equal(parseChallenges(""), []);
});

test("auth selection: exactly one complete mode, or an error naming what is missing or mixed", () => {
  assert.equal(selectRegistryAuth({}), { kind: "anonymous" });
  assert.equal(selectRegistryAuth({ username: "acr", password: "pw" }), { kind: "basic", username: "acr", password: "pw" });
  assert.equal(selectRegistryAuth({ entraToken: "t" }), { kind: "entra", token: "t" });
  assert.equal(selectRegistryAuth({ entraToken: "t", tenant: "contoso.onmicrosoft.com" }), {
    kind: "entra",
    token: "t",
    tenant: "contoso.onmicrosoft.com",
  });
  const fails: [object, RegExp][] = [
    [{ username: "acr" }, /--username needs --password/],
    [{ password: "pw" }, /--password needs --username/],
    [{ username: " ", password: "pw" }, /--password needs --username/],
    [{ username: "acr", password: "pw", entraToken: "t" }, /two different ways to log in; pass one/],
    [{ password: "pw", entraToken: "t" }, /two different ways/],
    [{ tenant: "11111111-2222-3333-4444-555555555555" }, /--tenant-id only applies with --entra-token/],
    [{ entraToken: "t", tenant: "not a tenant" }, /neither a tenant id/],
  ];
  for (const [args, re] of fails) {
    try {
      selectRegistryAuth(args as never);
      assert.unreachable(JSON.stringify(args));
    } catch (e) {
      assert.instance(e, RegistryAuthError);
      assert.match((e as Error).message, re);
      assert.not.match((e as Error).message, /\bpw\b/, "no secret value in the message");
    }
  }
});

test("backoff: doubles, stays within the bound, honours Retry-After up to the bound", () => {
  const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
  for (let i = 0; i < 8; i++) {
    const d = backoffDelay(i, opts);
    assert.ok(d >= Math.min(1000, 100 * 2 ** i) / 2 - 1e-9 && d <= 1000, `retry ${i}: ${d}`);
  }
  assert.is(backoffDelay(0, opts, "0"), 0);
  assert.is(backoffDelay(0, opts, "3"), 1000);
  assert.is(backoffDelay(0, { maxDelayMs: 10_000 }, "3"), 3000);
});

test("redact removes secret values; tenant read from a token's tid claim", () => {
  assert.is(redact("bad token abcd1234 here abcd1234", ["abcd1234", "x"]), "bad token *** here ***");
  assert.is(tenantOfToken(fakeEntraToken("11111111-2222-3333-4444-555555555555")), "11111111-2222-3333-4444-555555555555");
  assert.is(tenantOfToken("opaque-token"), undefined);
  assert.is(tenantOfToken("a.!!!.c"), undefined);
});

test.run();
