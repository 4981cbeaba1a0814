/**
 * The model CLI's help: each command's page names exactly the flags that command takes (the
 * parser refuses the others), with their defaults.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { COMMANDS, Command, commandUsage, HelpRequest, parseCli, USAGE, UsageError } from "../../dagger/src/model-store/cli-args.js";
import { runCli } from "../support/model-cli.js";
import { randomModel } from "../support/model-fixtures.js";

/** What each command needs to parse at all, besides the flag under test. */
const REQUIRED: Record<Command, string[]> = {
  publish: ["--dir", "d"],
  list: [],
  resolve: [],
  fetch: ["--out", "o"],
  alias: ["set", "champion", "--model-version", "1.0.0", "--by", "me"],
  yank: ["--model-version", "1.0.0", "--reason", "r", "--by", "me"],
  unyank: ["--model-version", "1.0.0", "--by", "me"],
};
/** A valid value for each flag that takes one. */
const VALUE: Record<string, string> = {
  "--model-name": "m",
  "--model-version": "1.0.0",
  "--dir": "d",
  "--out": "o",
  "--cache-dir": "c",
  "--max-file-size": "1GiB",
  "--expect-manifest-sha256": "a".repeat(64),
  "--reason": "r",
  "--signing-key": "k.pem",
  "--public-key": "k.pub",
  "--by": "me",
  "--container": "models",
  "--account": "acct01",
  "--account-url": "https://acct01.blob.core.windows.net",
  "--tenant-id": "t",
  "--client-id": "c",
  "--service-connection-id": "s",
  "--authority-host": "https://login.microsoftonline.us",
  "--s3-bucket": "b",
  "--s3-region": "eu-west-1",
  "--s3-endpoint": "http://127.0.0.1:7070",
  "--s3-profile": "p",
  "--s3-role-arn": "arn:aws:iam::123456789012:role/r",
  "--s3-role-session-name": "s",
};

/** The flags a help text names; az's own --resource appears in an example command, not as ours. */
const flagsIn = (text: string): Set<string> =>
  new Set((text.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []).filter((f) => f !== "--resource" && f !== "--help"));

/** What a flag needs beside it to parse: an S3 flag needs the bucket and its region. */
function context(flag: string): string[] {
  if (flag === "--s3-bucket") return ["--s3-region", "eu-west-1"];
  if (flag === "--s3-region") return ["--s3-bucket", "b"];
  return flag.startsWith("--s3-") ? ["--s3-bucket", "b", "--s3-region", "eu-west-1"] : [];
}

/** Whether `cmd` takes `flag`: parsing it with the command's required arguments is no usage error about it. */
function takes(cmd: Command, flag: string): boolean {
  const argv = [
    cmd,
    ...REQUIRED[cmd].filter((a, i, all) => a !== flag && all[i - 1] !== flag),
    ...context(flag),
    flag,
    ...(VALUE[flag] ? [VALUE[flag]] : []),
  ];
  try {
    parseCli(argv, {});
    return true;
  } catch (e) {
    if (e instanceof HelpRequest || !(e instanceof UsageError)) throw e;
    return false;
  }
}

test("each command's --help names exactly the flags that command takes: every other flag is refused, none is silently ignored", () => {
  const every = new Set([...flagsIn(USAGE), ...COMMANDS.flatMap((c) => [...flagsIn(commandUsage(c))])]);
  const wrong: string[] = [];
  for (const cmd of COMMANDS) {
    const shown = flagsIn(commandUsage(cmd));
    for (const flag of every) {
      const accepted = takes(cmd, flag);
      if (accepted && !shown.has(flag)) wrong.push(`${cmd} takes ${flag}, its --help does not say so`);
      if (!accepted && shown.has(flag)) wrong.push(`${cmd} --help names ${flag}, which ${cmd} refuses`);
    }
  }
  assert.equal(wrong, []);
});

test("the flags the issue found on the wrong pages: list has no --model-version, @ALIAS or --progress; publish's --model-version is model.json's", () => {
  const list = commandUsage("list");
  for (const text of ["--model-version", "@ALIAS", "--progress", "--prerelease"])
    assert.not.ok(list.includes(text), `list --help: ${text}`);
  assert.not.match(commandUsage("publish"), /--model-version[^\n]*latest/, "publish's version is never latest");
  assert.match(commandUsage("publish"), /--model-version X\.Y\.Z\s+[^\n]*model\.json/);
  assert.match(
    usageError(["list", "--model-version", "1.0.0"]),
    /--model-version only applies to publish, resolve, fetch, alias, yank and unyank \(not list\)/,
  );
  assert.match(usageError(["publish", "--dir", "d", "--prerelease"]), /--prerelease only applies to resolve and fetch \(not publish\)/);
  assert.match(usageError(["resolve", "--progress"]), /--progress only applies to publish and fetch \(not resolve\)/);
  assert.is(
    parseCli(["publish", "--dir", "d", "--model-name", "mnist"], {}).expectName,
    "mnist",
    "publish --model-name is a guard, as --model-version",
  );
  assert.is(parseCli(["publish", "--dir", "d"], {}).expectName, undefined);
});

test("each flag line shows its default where it has one", () => {
  const fetch = commandUsage("fetch");
  for (const [flag, dflt] of [
    ["--model-name NAME", "default digits-classifier"],
    ["--model-version V", "default latest"],
    ["--max-file-size SIZE", "default $MODEL_STORE_MAX_FILE_SIZE, else 4GiB"],
    ["--container NAME", "default models"],
  ] as const) {
    const line = fetch.split("\n").find((l) => l.trimStart().startsWith(flag));
    assert.ok(line, `fetch --help has a line for ${flag}`);
    assert.ok(line.includes(dflt), `${line} says ${dflt}`);
  }
});

test("publish --model-name is a guard: a directory whose model.json names another model is refused before any store is reached", async () => {
  const root = mkdtempSync(join(tmpdir(), "cli-publish-name-"));
  try {
    const dir = randomModel(root, "1.0.0", 64, "digits-classifier");
    const r = await runCli(["publish", "--dir", dir, "--model-name", "mnist"], { HOME: root });
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /model\.json names model "digits-classifier" but --model-name mnist was asked for/);
    assert.not.match(r.stderr, /credentials/, "refused before signing in");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function usageError(argv: string[]): string {
  try {
    parseCli(argv, {});
  } catch (e) {
    assert.instance(e, UsageError);
    return (e as Error).message;
  }
  assert.unreachable(`expected a usage error for ${argv.join(" ")}`);
  return "";
}

test.run();
