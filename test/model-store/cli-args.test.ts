/** The command line: options from argv, secrets only from the environment. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { commandUsage, HelpRequest, parseCli, USAGE, UsageError } from "../../dagger/src/model-store/cli-args.js";

const KEY = "k3y-VALUE-never-printed==";

function usageError(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCli(argv, env);
  } catch (e) {
    assert.instance(e, UsageError);
    return (e as Error).message;
  }
  assert.unreachable(`expected a usage error for ${argv.join(" ")}`);
  return "";
}

test("fetch: defaults (latest, default model and container, a cache dir), secrets from env", () => {
  const o = parseCli(["fetch", "--out", "m", "--account", "acct01"], { AZURE_STORAGE_KEY: KEY, HOME: "/home/u" });
  assert.is(o.command, "fetch");
  assert.is(o.version, "latest");
  assert.is(o.name, "digits-classifier");
  assert.is(o.container, "models");
  assert.is(o.cacheDir, "/home/u/.cache/ai-app-pipeline/models");
  assert.equal(o.auth, { account: "acct01", accountKey: KEY });
});

test("publish takes its version from the manifest unless given; --no-cache; env cache dir", () => {
  assert.is(parseCli(["publish", "--dir", "d"], {}).version, undefined);
  assert.is(parseCli(["publish", "--dir", "d", "--version", "1.2.0"], {}).version, "1.2.0");
  assert.is(parseCli(["fetch", "--out", "o", "--no-cache"], {}).cacheDir, undefined);
  assert.is(parseCli(["fetch", "--out", "o"], { MODEL_STORE_CACHE_DIR: "/c" }).cacheDir, "/c");
});

test("fetch --max-file-size (or MODEL_STORE_MAX_FILE_SIZE): bytes or a size with a unit; the flag wins; nonsense is a usage error", () => {
  assert.is(parseCli(["fetch", "--out", "o"], {}).maxFileBytes, undefined, "the fetch default applies");
  assert.is(parseCli(["fetch", "--out", "o", "--max-file-size", "8GiB"], {}).maxFileBytes, 8 * 1024 ** 3);
  assert.is(parseCli(["fetch", "--out", "o", "--max-file-size=1073741824"], {}).maxFileBytes, 1024 ** 3);
  assert.is(parseCli(["fetch", "--out", "o"], { MODEL_STORE_MAX_FILE_SIZE: "500MB" }).maxFileBytes, 500e6);
  assert.is(parseCli(["fetch", "--out", "o", "--max-file-size", "2G"], { MODEL_STORE_MAX_FILE_SIZE: "500MB" }).maxFileBytes, 2e9);
  assert.match(
    usageError(["fetch", "--out", "o", "--max-file-size", "lots"]),
    /--max-file-size must be a size such as 4GiB, 500MB or 1073741824 \(got "lots"\)/,
  );
  assert.match(
    usageError(["fetch", "--out", "o"], { MODEL_STORE_MAX_FILE_SIZE: "0" }),
    /MODEL_STORE_MAX_FILE_SIZE must be a size such as 4GiB/,
  );
  assert.match(usageError(["list", "--max-file-size", "1G"]), /--max-file-size only applies to fetch/);
  assert.match(USAGE, /--max-file-size SIZE/);
});

test("every Entra option and environment secret maps onto the auth input", () => {
  const o = parseCli(
    [
      "list",
      "--tenant-id",
      "t",
      "--client-id",
      "c",
      "--service-connection-id",
      "s",
      "--account-url",
      "https://a.blob.core.windows.net",
      "--authority-host",
      "https://login.example",
    ],
    {
      SYSTEM_ACCESSTOKEN: "tok",
      SYSTEM_OIDCREQUESTURI: "https://oidc",
      AZURE_FEDERATED_TOKEN_FILE: "/f",
      AZURE_CLIENT_SECRET: "",
      AZURE_STORAGE_SAS_TOKEN: " ",
    },
  );
  assert.equal(
    o.auth,
    {
      accountUrl: "https://a.blob.core.windows.net",
      tenantId: "t",
      clientId: "c",
      serviceConnectionId: "s",
      oidcRequestUri: "https://oidc",
      federatedTokenFile: "/f",
      systemAccessToken: "tok",
    },
    "empty variables count as absent",
  );
  assert.is(o.authorityHost, "https://login.example");
  assert.ok(parseCli(["list", "--managed-identity"], {}).auth.managedIdentity);
});

test("a secret on the command line is refused without echoing it", () => {
  for (const flag of [
    "--account-key",
    "--sas-token",
    "--connection-string",
    "--client-secret",
    "--federated-token",
    "--system-access-token",
  ]) {
    const msg = usageError(["fetch", "--out", "o", `${flag}=${KEY}`]);
    assert.match(msg, /secrets are read from the environment only/);
    assert.not.ok(msg.includes(KEY));
    assert.not.ok(usageError(["fetch", flag, KEY]).includes(KEY));
  }
});

test("usage errors: unknown command or flag, missing --dir/--out, bad sha, stray argument", () => {
  assert.match(usageError(["frobnicate"]), /unknown command "frobnicate"/);
  assert.match(usageError(["list", "--colour"]), /Unknown option '--colour'/);
  assert.match(usageError(["publish"]), /publish needs --dir/);
  assert.match(usageError(["fetch"]), /fetch needs --out/);
  assert.match(usageError(["fetch", "--out", "o", "--expect-manifest-sha256", "xyz"]), /64 lowercase hex/);
  assert.match(usageError(["list", "extra"]), /unexpected argument "extra"/);
  assert.match(usageError(["fetch", "--out", "o", "--no-cache", "--cache-dir", "c"]), /not both/);
  assert.match(usageError(["list", "--create-container"]), /only applies to publish/);
  assert.is(usageError(["--help"]), USAGE);
  assert.is(usageError([]), USAGE);
});

test("--model-name / --model-version are the documented spelling; --name / --version stay as silent aliases", () => {
  const o = parseCli(["fetch", "--out", "o", "--model-name", "mnist", "--model-version", "1.2.0"], {});
  assert.is(o.name, "mnist");
  assert.is(o.version, "1.2.0");
  const old = parseCli(["fetch", "--out", "o", "--name", "mnist", "--version", "1.2.0"], {});
  assert.equal([old.name, old.version], ["mnist", "1.2.0"]);
  assert.is(parseCli(["publish", "--dir", "d", "--model-version", "2.0.0"], {}).version, "2.0.0");
  assert.match(usageError(["list", "--model-name", "a", "--name", "b"]), /--model-name given twice \(--name is its old spelling\)/);
  assert.match(USAGE, /--model-name NAME/);
  assert.match(USAGE, /--model-version V/);
  assert.not.match(USAGE, /(^|[^-a-z])--(name|version)\b/m, "the old spellings are not documented");
});

test("az-style and Dagger-style flags get a hint, not a bare unknown option", () => {
  const hints: [string[], RegExp][] = [
    [["--account-name", "mystorage"], /--account-name: use --account NAME/],
    [["--container-name", "models"], /--container-name: use --container NAME/],
    [["--auth-mode", "login"], /--auth-mode: use --az-login/],
    [["--tenant", "t"], /--tenant: use --tenant-id ID/],
    [["--model-dir", "./model/out"], /--model-dir: use --dir DIR/],
  ];
  for (const [flags, expected] of hints) assert.match(usageError(["list", ...flags]), expected);
  assert.match(usageError(["list", "--account-name=mystorage"]), /--account-name: use --account NAME/);
});

test("a usage error is the one relevant line plus where help is, never the whole usage", () => {
  for (const argv of [["list", "--colour"], ["fetch"], ["list", "extra"], ["frobnicate"], ["list", "--account-name", "x"]]) {
    const msg = usageError(argv);
    const lines = msg.split("\n");
    assert.is(lines.length, 2, msg);
    assert.match(lines[1]!, /^run `ai-app-models (\w+ )?--help` for usage$/);
    assert.not.match(msg, /Store options/);
  }
  assert.match(usageError(["fetch", "--out", "o", "--colour"]), /\nrun `ai-app-models fetch --help` for usage$/);
});

test("help for one command: fetch --help and publish -h give that command's usage with the store options", () => {
  for (const [argv, cmd] of [
    [["fetch", "--help"], "fetch"],
    [["publish", "-h"], "publish"],
    [["list", "--account", "acct01", "--help"], "list"],
  ] as const) {
    let help: unknown;
    try {
      parseCli(argv, {});
    } catch (e) {
      help = e;
    }
    assert.instance(help, HelpRequest);
    assert.is((help as Error).message, commandUsage(cmd));
  }
  assert.match(commandUsage("fetch"), /^Usage: ai-app-models fetch --out DIR/);
  assert.match(commandUsage("fetch"), /Store options:[\s\S]*--az-login/);
  assert.not.match(commandUsage("fetch"), /publish --dir/);
  assert.instance(
    (() => {
      try {
        parseCli(["--help"], {});
      } catch (e) {
        return e;
      }
    })(),
    HelpRequest,
  );
});

test("your own sign-in: --az-login and AZURE_STORAGE_ENTRA_TOKEN; --entra-token on the command line is refused", () => {
  assert.equal(parseCli(["list", "--az-login", "--account", "acct01"], {}).auth, { account: "acct01", azureCli: true });
  assert.equal(parseCli(["list", "--account", "acct01"], { AZURE_STORAGE_ENTRA_TOKEN: "tok" }).auth, {
    account: "acct01",
    entraToken: "tok",
  });
  const msg = usageError(["list", `--entra-token=${KEY}`]);
  assert.match(msg, /set AZURE_STORAGE_ENTRA_TOKEN instead/);
  assert.not.ok(msg.includes(KEY));
});

test("--progress is off unless asked (the terminal check happens where stderr is known)", () => {
  assert.is(parseCli(["fetch", "--out", "o"], {}).progress, false);
  assert.is(parseCli(["fetch", "--out", "o", "--progress"], {}).progress, true);
  assert.is(parseCli(["publish", "--dir", "d", "--progress"], {}).progress, true);
});

test.run();
