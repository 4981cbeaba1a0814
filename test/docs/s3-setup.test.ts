/**
 * docs/s3-setup.md, checked: every `aws` command against the real AWS CLI's help (the recorded
 * table, test/fixtures/aws-commands.json), the IAM policies against the actions the store uses
 * (S3_POLICY_ACTIONS: no more, no less), the web identity trust policies against what makes them
 * safe (a fixed audience that the identity provider was registered with, a fixed subject), and the
 * store command's examples against its parser. Each check is also fed a broken copy of the guide
 * and must object to it. (Its `dagger call` examples are checked by dagger-calls.test.ts.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCli } from "../../dagger/src/model-store/cli-args.js";
import { S3_POLICY_ACTIONS } from "../../dagger/src/model-store/s3-settings.js";
import { awsCommandsIn, awsProblems, readAwsTable, shellBlocks, splitHeredocs } from "../support/aws-commands.js";
import { shellWords } from "../support/dagger-call.js";
import { ROOT } from "../support/session.js";

const GUIDE = "docs/s3-setup.md";
const guide = readFileSync(join(ROOT, GUIDE), "utf8");
const VARS: Record<string, string> = {
  BUCKET: "ml-models-123456789012",
  ACCOUNT_ID: "123456789012",
  ADO_ORG_ID: "0000-org",
  REGION: "eu-west-1",
};
const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (m, name: string) => VARS[name] ?? m);

/** The JSON documents the guide writes with here-documents, by file name, its variables filled in. */
function heredocs(md: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const block of shellBlocks(md)) {
    for (const [file, body] of splitHeredocs(block).heredocs) out.set(file, JSON.parse(expand(body)));
  }
  return out;
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string>>;
}
const statements = (doc: unknown) => (doc as { Statement: Statement[] }).Statement;
const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Problems of the two store policies: actions other than the store's, or on the wrong resources. */
function policyProblems(md: string): string[] {
  const docs = heredocs(md);
  const problems: string[] = [];
  const bucket = `arn:aws:s3:::${VARS.BUCKET}`;
  for (const [file, wanted] of [
    ["model-store-read.json", S3_POLICY_ACTIONS.read],
    ["model-store-write.json", S3_POLICY_ACTIONS.write],
  ] as const) {
    const doc = docs.get(file);
    if (!doc) {
      problems.push(`${file}: not written by the guide`);
      continue;
    }
    const allowed = statements(doc).filter((s) => s.Effect === "Allow");
    const actions = [...new Set(allowed.flatMap((s) => list(s.Action)))].sort();
    if (JSON.stringify(actions) !== JSON.stringify([...wanted].sort())) {
      problems.push(`${file}: allows ${actions.join(", ")}; the store uses ${[...wanted].sort().join(", ")}`);
    }
    for (const s of allowed) {
      for (const a of list(s.Action)) {
        const resources = list(s.Resource);
        const want = a === "s3:ListBucket" ? bucket : `${bucket}/*`;
        if (resources.length !== 1 || resources[0] !== want) problems.push(`${file}: ${a} on ${resources.join(", ")}, not ${want}`);
      }
    }
  }
  return problems;
}

/** Problems of the web identity trust policies: each pins the audience its provider was registered with, and one subject. */
function trustProblems(md: string): string[] {
  const docs = heredocs(md);
  const problems: string[] = [];
  const providers = new Map<string, string[]>();
  for (const block of shellBlocks(md)) {
    for (const words of awsCommandsIn(block)) {
      if (words[2] !== "create-open-id-connect-provider") continue;
      const url = expand(words[words.indexOf("--url") + 1] ?? "");
      const clients = expand(words[words.indexOf("--client-id-list") + 1] ?? "").split(/[\s,]+/);
      providers.set(url.replace(/^https:\/\//, ""), clients);
    }
  }
  const trusts = [...docs].filter(([file]) => file.endsWith("-trust.json"));
  if (trusts.length < 2)
    problems.push(`expected the GitHub and Azure DevOps trust policies, found ${trusts.map(([f]) => f).join(", ") || "none"}`);
  for (const [file, doc] of trusts) {
    for (const s of statements(doc)) {
      const federated = String((s.Principal as { Federated?: string } | undefined)?.Federated ?? "");
      const host = federated.replace(/^arn:aws:iam::\d{12}:oidc-provider\//, "");
      const audiences = providers.get(host);
      if (!audiences) problems.push(`${file}: trusts ${federated}, which the guide never registers`);
      if (list(s.Action).join() !== "sts:AssumeRoleWithWebIdentity") problems.push(`${file}: action ${list(s.Action).join()}`);
      const equals = s.Condition?.StringEquals ?? {};
      const aud = equals[`${host}:aud`];
      const sub = equals[`${host}:sub`];
      if (!aud || !audiences?.includes(aud))
        problems.push(`${file}: the audience ${aud ?? "(none)"} is not the provider's client id ${audiences?.join()}`);
      if (!sub || /[*?]/.test(sub))
        problems.push(`${file}: no fixed subject (StringEquals on ${host}:sub): any repository or pipeline could assume the role`);
    }
  }
  return problems;
}

/** Problems of the store command's examples: each must parse, with an S3 store. */
function cliProblems(md: string): string[] {
  const problems: string[] = [];
  for (const block of shellBlocks(md)) {
    for (const line of splitHeredocs(block.replace(/\\\n\s*/g, " ")).lines) {
      const at = line.indexOf("./scripts/ai-app-models.mjs ");
      if (at < 0) continue;
      const args = shellWords(expand(line.slice(at))).slice(1);
      try {
        const o = parseCli(args, { USER: "me" });
        if (!o.s3) problems.push(`${args.join(" ")}: not an S3 store`);
      } catch (e) {
        problems.push(`${args.join(" ")}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }
  return problems;
}

test("every aws command of the guide is one the AWS CLI has, with options its help lists", () => {
  const table = readAwsTable();
  assert.ok(Object.keys(table.commands).length >= 10, "the table covers the guide's commands");
  const commands = shellBlocks(guide).flatMap(awsCommandsIn);
  assert.ok(commands.length >= 12, `found ${commands.length} aws commands`);
  assert.equal(
    shellBlocks(guide).flatMap((b) => awsProblems(b, table)),
    [],
  );
  const broken = guide
    .replace("--create-bucket-configuration", "--bucket-configuration")
    .replace("aws s3api put-bucket-versioning", "aws s3api set-bucket-versioning");
  const found = shellBlocks(broken).flatMap((b) => awsProblems(b, table));
  assert.ok(
    found.some((p) => /s3api create-bucket has no option --bucket-configuration/.test(p)),
    found.join("\n"),
  );
  assert.ok(
    found.some((p) => /aws s3api set-bucket-versioning: not in/.test(p)),
    found.join("\n"),
  );
});

test("the two policies allow exactly the actions the store uses, on the bucket and its objects, and nothing that deletes", () => {
  assert.equal(policyProblems(guide), []);
  const broader = guide.replace(
    '"Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]',
    '"Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"]',
  );
  assert.match(policyProblems(broader).join("\n"), /model-store-write.json: allows .*s3:DeleteObject/);
  const wrongResource = guide.replace(
    '"Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::$BUCKET/*"',
    '"Action": ["s3:GetObject"], "Resource": "*"',
  );
  assert.match(policyProblems(wrongResource).join("\n"), /model-store-read.json: s3:GetObject on \*/);
});

test("each trust policy pins the audience its provider was registered with and one subject", () => {
  assert.equal(trustProblems(guide), []);
  const anyRepo = guide.replace('"repo:my-org/ai-app-pipeline:ref:refs/heads/main"', '"repo:my-org/*"');
  assert.match(trustProblems(anyRepo).join("\n"), /github-trust.json: no fixed subject/);
  const wrongAud = guide.replace(
    '"vstoken.dev.azure.com/$ADO_ORG_ID:aud": "api://AzureADTokenExchange"',
    '"vstoken.dev.azure.com/$ADO_ORG_ID:aud": "sts.amazonaws.com"',
  );
  assert.match(trustProblems(wrongAud).join("\n"), /ado-trust.json: the audience sts.amazonaws.com is not the provider's client id/);
});

test("the store command's examples parse, each with an S3 store", () => {
  const found = shellBlocks(guide).flatMap((b) => splitHeredocs(b).lines.filter((l) => l.includes("./scripts/ai-app-models.mjs")));
  assert.ok(found.length >= 3, `found ${found.length}`);
  assert.equal(cliProblems(guide), []);
  assert.match(
    cliProblems(guide.replace('--s3-region "$REGION" --s3-profile ml-team --dir', "--s3-profile ml-team --dir")).join("\n"),
    /--s3-bucket needs --s3-region/,
  );
});

test("the guide says where the test server differs from AWS S3, naming tests that exist", () => {
  const section = guide.slice(guide.indexOf("## Where the tests' S3 server differs from AWS S3"));
  for (const topic of ["409 ConditionalRequestConflict", "XAdminUserNotFound", "255", "keep-alive", "no IAM"])
    assert.ok(section.includes(topic), topic);
  for (const file of section.match(/test\/model-store\/[\w-]+\.test\.ts/g) ?? []) assert.ok(existsSync(join(ROOT, file)), file);
});

test.run();
