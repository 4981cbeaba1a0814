/**
 * azure-pipelines.yml and the GitHub workflow: triggers and schedule as intended, one dagger call
 * per stage/job, the pinned Dagger version, and every secret handed to Dagger as env://NAME.
 * Which stages run for each build reason is computed with Azure's rules for stage dependencies
 * and conditions; the pull-request stage holds no Azure rights; the Dagger CLI is installed
 * only after its checksum verifies (the Azure template is run against a stand-in download);
 * every GitHub action is pinned by commit.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkDaggerCall, findDaggerCalls, UsedArg } from "../support/dagger-call.js";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";
import { tempDir } from "../support/temp.js";
import { parse } from "../support/yaml.js";

const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const engineVersion = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");

interface Step {
  task?: string;
  inputs?: Record<string, unknown>;
  bash?: string;
  script?: string;
  run?: string;
  template?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  job?: string;
  /** A deployment job: its steps run after the environment's approvals and checks. */
  deployment?: string;
  environment?: string;
  steps?: Step[];
  strategy?: { runOnce?: { deploy?: { steps?: Step[] } } };
}
interface Stage {
  stage: string;
  condition?: string;
  dependsOn?: string | string[];
  variables?: unknown;
  jobs: Job[];
}

/** A job's steps, a deployment job's included. */
const stepsOf = (j: Job): Step[] => j.steps ?? j.strategy?.runOnce?.deploy?.steps ?? [];
interface AzurePipeline {
  trigger: { branches: { include: string[] } };
  pr: { branches: { include: string[] } };
  schedules: { cron: string; always: boolean; branches: { include: string[] } }[];
  variables: { name?: string; value?: string; group?: string }[];
  parameters?: { name: string; type: string; default: unknown }[];
  stages: Stage[];
}

/** Checks one script's dagger calls; returns the args they pass. */
async function callsIn(script: string): Promise<{ calls: string[]; args: UsedArg[] }> {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  const calls = findDaggerCalls(script);
  for (const c of calls)
    assert.equal(
      checkDaggerCall(c, mod, (a) => args.push(a)),
      [],
      c,
    );
  return { calls, args };
}

/** Secret arguments not given as env://NAME. */
function secretsNotFromEnv(args: UsedArg[]): string[] {
  return args
    .filter((a) => a.type === "Secret" && !(typeof a.value === "string" && /^env:\/\/[A-Za-z_][A-Za-z0-9_]*$/.test(a.value)))
    .map((a) => `--${a.flag} ${String(a.value)}`);
}

test("azure-pipelines.yml: triggers, PRs and a nightly schedule that always runs", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  assert.equal(p.trigger.branches.include, ["main"]);
  assert.equal(p.pr.branches.include, ["main"]);
  assert.is(p.schedules.length, 1);
  assert.is(p.schedules[0]!.always, true);
  assert.match(p.schedules[0]!.cron, /^\S+ \S+ \* \* \*$/);
  assert.is(p.variables.find((v) => v.name === "DAGGER_VERSION")?.value, engineVersion);
  const release = p.stages.find((s) => s.stage === "release")!;
  assert.match(release.condition ?? "", /eq\(variables\['Build\.Reason'\], 'Schedule'\)/);
  for (const s of p.stages.filter((s) => s.stage !== "release")) assert.not.match(s.condition ?? "", /'Schedule'\)$/);
});

test("azure-pipelines.yml: each stage runs exactly one valid dagger call, secrets as env://", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const expected: Record<string, string> = {
    pr: "ci",
    ci: "ci",
    release: "release",
    canary: "release",
    promote: "promote",
    abort: "abort",
  };
  assert.equal(
    p.stages.map((s) => s.stage),
    Object.keys(expected),
  );
  for (const stage of p.stages) {
    const scripts = stage.jobs.flatMap(stepsOf).map((s) => String(s.inputs?.inlineScript ?? s.bash ?? s.script ?? ""));
    const { calls, args } = await callsIn(scripts.join("\n"));
    assert.is(calls.length, 1, `stage ${stage.stage} should run one dagger call`);
    assert.match(calls[0]!, new RegExp(`\\s${expected[stage.stage]}(\\s|$)`), `stage ${stage.stage} calls ${expected[stage.stage]}`);
    assert.equal(secretsNotFromEnv(args), [], `stage ${stage.stage}: secrets must be env://NAME`);
    if (stage.stage === "pr") continue; // no Azure access at all: see below
    const cli = stage.jobs.flatMap(stepsOf).find((s) => s.task === "AzureCLI@2");
    assert.is(cli?.inputs?.addSpnToEnvironment, true, `stage ${stage.stage} gets the federated token from AzureCLI@2`);
  }
});

// ---- which stages run, by Azure's rules ------------------------------------------------------

/**
 * Evaluates a stage condition as Azure Pipelines does for the functions this file uses: eq, ne,
 * in, notIn, and, or, not, succeeded(), always(), variables['X'] and 'strings'. `succeeded()` is
 * true only when every dependency succeeded: a skipped dependency makes it false
 * (microsoft/azure-pipelines-yaml#318). Anything else is an error, never a guess.
 */
function evaluate(
  expr: string,
  vars: Record<string, string>,
  depsSucceeded: boolean,
  params: Record<string, unknown> = {},
  results: Record<string, string> = {},
): unknown {
  // Template expressions are expanded before the run; a boolean parameter renders as True/False.
  const expanded = expr.replace(/\$\{\{\s*parameters\.(\w+)\s*\}\}/g, (_m, name: string) => {
    if (!(name in params)) throw new Error(`unknown parameter ${name} in ${expr}`);
    const v = params[name];
    return typeof v === "boolean" ? (v ? "True" : "False") : String(v);
  });
  const tokens = expanded.match(/'(?:[^']|'')*'|[A-Za-z_][\w.]*|\[|\]|\(|\)|,/g) ?? [];
  let i = 0;
  const next = () => tokens[i++] ?? "";
  const value = (): unknown => {
    const t = next();
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    const dependency = /^dependencies\.(\w+)\.result$/.exec(t);
    if (dependency) return results[dependency[1]!] ?? "Skipped";
    if (t === "variables") {
      if (next() !== "[") throw new Error(`unsupported variables syntax in ${expr}`);
      const name = value() as string;
      next(); // "]"
      return vars[name] ?? "";
    }
    if (next() !== "(") throw new Error(`unsupported term ${t} in ${expr}`);
    const args: unknown[] = [];
    while (tokens[i] !== ")") {
      args.push(value());
      if (tokens[i] === ",") i++;
    }
    i++; // ")"
    const s = args.map((a) => String(a).toLowerCase());
    switch (t.toLowerCase()) {
      case "eq":
        return s[0] === s[1];
      case "ne":
        return s[0] !== s[1];
      case "in":
        return s.slice(1).includes(s[0]!);
      case "notin":
        return !s.slice(1).includes(s[0]!);
      case "and":
        return args.every(Boolean);
      case "or":
        return args.some(Boolean);
      case "not":
        return !args[0];
      case "succeeded":
        return depsSucceeded;
      case "always":
        return true;
      default:
        throw new Error(`unsupported function ${t} in ${expr}`);
    }
  };
  return value();
}

/**
 * The stages that run for one build reason and parameter values (defaults from the file). A stage
 * that runs succeeds, unless `failing` names it (e.g. a promote whose approval was rejected).
 */
function stagesRun(p: AzurePipeline, reason: string, params: Record<string, unknown> = {}, failing: string[] = []): string[] {
  const values = { ...Object.fromEntries((p.parameters ?? []).map((x) => [x.name, x.default])), ...params };
  const result = new Map<string, "Succeeded" | "Failed" | "Skipped">();
  p.stages.forEach((stage, n) => {
    // No dependsOn: the previous stage. `dependsOn: []`: none.
    const deps = stage.dependsOn === undefined ? (n > 0 ? [p.stages[n - 1]!.stage] : []) : ([] as string[]).concat(stage.dependsOn);
    const depsSucceeded = deps.every((d) => result.get(d) === "Succeeded");
    const results = Object.fromEntries([...result].filter(([s]) => deps.includes(s)));
    const runs = Boolean(evaluate(stage.condition ?? "succeeded()", { "Build.Reason": reason }, depsSucceeded, values, results));
    result.set(stage.stage, !runs ? "Skipped" : failing.includes(stage.stage) ? "Failed" : "Succeeded");
  });
  return [...result].filter(([, r]) => r !== "Skipped").map(([s]) => s);
}

test("the condition evaluator follows Azure's rules (a skipped dependency fails succeeded())", () => {
  const two = (second: Partial<Stage>): AzurePipeline =>
    ({
      stages: [
        { stage: "a", condition: "eq(variables['Build.Reason'], 'PullRequest')", jobs: [] },
        { stage: "b", jobs: [], ...second },
      ],
    }) as unknown as AzurePipeline;
  assert.equal(stagesRun(two({}), "IndividualCI"), [], "b depends on a by default and a was skipped");
  assert.equal(stagesRun(two({ condition: "and(succeeded(), eq(variables['Build.Reason'], 'IndividualCI'))" }), "IndividualCI"), []);
  assert.equal(stagesRun(two({ dependsOn: [], condition: "eq(variables['Build.Reason'], 'IndividualCI')" }), "IndividualCI"), ["b"]);
  assert.equal(stagesRun(two({ condition: "in(variables['Build.Reason'], 'Manual', 'Schedule')" }), "Schedule"), ["b"]);
  assert.throws(() => evaluate("startsWith(variables['Build.Reason'], 'P')", {}, true), /unsupported function startsWith/);
});

test("azure-pipelines.yml: each build reason runs its own stage, whatever the others did", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const expected: Record<string, string[]> = {
    PullRequest: ["pr"],
    IndividualCI: ["ci"],
    BatchedCI: ["ci"],
    Manual: ["ci"],
    Schedule: ["release"],
  };
  for (const [reason, stages] of Object.entries(expected)) assert.equal(stagesRun(p, reason), stages, `Build.Reason ${reason}`);
  const gated: Record<string, string[]> = { promote: ["canary"], abort: ["canary", "promote"] };
  for (const stage of p.stages) {
    assert.equal(stage.dependsOn, gated[stage.stage] ?? [], `stage ${stage.stage} declares what it depends on`);
  }
});

test("azure-pipelines.yml: the canary is opt-in (a manual run with the canary parameter), then promote after approval, abort without it", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const parameter = p.parameters?.find((x) => x.name === "canary");
  assert.equal([parameter?.type, parameter?.default], ["boolean", false], "off unless ticked when queuing the run");
  assert.equal(stagesRun(p, "Manual", { canary: true }), ["canary", "promote"], "approved: canary, then promote; no publish, no abort");
  assert.equal(stagesRun(p, "Manual", { canary: true }, ["promote"]), ["canary", "promote", "abort"], "promote rejected or failed: abort");
  assert.equal(stagesRun(p, "Manual", { canary: true }, ["canary"]), ["canary"], "a canary that failed removed itself: nothing more");
  for (const reason of ["IndividualCI", "Schedule", "PullRequest"]) {
    assert.not.ok(stagesRun(p, reason, { canary: true }).includes("canary"), `${reason}: the canary runs on manual runs only`);
  }
  const promote = p.stages.find((s) => s.stage === "promote")!;
  assert.equal(
    promote.jobs.map((j) => [j.deployment, j.environment]),
    [["promote", "ai-app-production"]],
    "a deployment job bound to the environment whose approvals gate it",
  );
  const canary = p.stages
    .find((s) => s.stage === "canary")!
    .jobs.flatMap(stepsOf)
    .map((s) => String(s.inputs?.inlineScript ?? ""))
    .join("\n");
  assert.match(canary, /release --tag main --strategy canary .*--pause json/);
  // promote and abort finish only the release the canary stage started: its id, passed on as an output variable
  const step = p.stages.find((s) => s.stage === "canary")!.jobs.flatMap(stepsOf)[1] as Step & { name?: string };
  assert.match(canary, /##vso\[task\.setvariable variable=releaseId;isOutput=true\]\$\(jq -r \.releaseId /);
  for (const name of ["promote", "abort"]) {
    const stage = p.stages.find((s) => s.stage === name)!;
    const job = stage.jobs[0] as Job & { variables?: Record<string, string> };
    assert.is(
      job.variables?.releaseId,
      `$[ stageDependencies.canary.canary.outputs['${step.name}.releaseId'] ]`,
      `${name} reads the canary's id`,
    );
    assert.match(
      stepsOf(job)
        .map((s) => String(s.inputs?.inlineScript ?? ""))
        .join("\n"),
      `${name} --release-id "$(releaseId)"`,
    );
  }
  assert.throws(() => evaluate("eq('${{ parameters.nope }}', 'true')", {}, true), /unknown parameter nope/);
});

test("azure-pipelines.yml: the pull-request stage runs the embedded default with no Azure rights", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const pr = p.stages.find((s) => s.stage === "pr")!;
  const text = JSON.stringify(pr);
  assert.not.match(
    text,
    /serviceConnection|azureSubscription|connectedService|AzureCLI|AzurePowerShell|Kubernetes@|Docker@/i,
    "no service connection, no Azure task",
  );
  assert.not.match(text, /System\.AccessToken|idToken|ACR_TOKEN|KUBECONFIG/, "no token of any kind");
  assert.not.match(JSON.stringify(pr.variables ?? []), /group/, "no variable group");
  const { calls } = await callsIn(
    pr.jobs
      .flatMap(stepsOf)
      .map((s) => String(s.bash ?? s.script ?? s.inputs?.inlineScript ?? ""))
      .join("\n"),
  );
  assert.equal(calls.length, 1);
  assert.match(calls[0]!, /\sci summary$/, "ends with ci and its embedded default, printing its summary");
  assert.not.match(
    calls[0]!,
    /with-store|with-registry|with-cluster|--registry|--entra-token|--kubeconfig|--token|--password/,
    "no store, registry or cluster given",
  );
  // The variable group and the service connection belong to the stages that publish and deploy.
  assert.not.match(JSON.stringify(p.variables), /group/, "the variable group is not pipeline-wide");
  for (const s of p.stages.filter((s) => s.stage !== "pr"))
    assert.match(JSON.stringify(s.variables ?? []), /ai-app-pipeline/, `stage ${s.stage} has the group`);
});

// ---- the GitHub workflow: pinned actions, least privilege --------------------------------------

interface Workflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  permissions?: Record<string, string>;
  jobs: Record<string, { if?: string; permissions?: Record<string, string>; steps: Step[] }>;
}

test("the GitHub workflow: every action pinned by a full commit sha, Dagger installed by its official action", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  const uses = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses).map((s) => s.uses!));
  assert.ok(uses.length > 0);
  for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${u} is not pinned by commit`);
  // Each pin carries the tag it stands for, so an update can be checked against the action's repository.
  for (const line of read(".github/workflows/pipeline.yml")
    .split("\n")
    .filter((l) => /uses:/.test(l))) {
    assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${line.trim()} names its tag`);
  }
  for (const [name, job] of Object.entries(wf.jobs)) {
    const install = job.steps.find((s) => s.uses?.startsWith("dagger/dagger-for-github@"));
    assert.ok(install, `job ${name} installs Dagger with dagger/dagger-for-github`);
    assert.is(install!.with?.version, "${{ env.DAGGER_VERSION }}", `job ${name} installs the pinned version`);
    assert.equal(Object.keys(install!.with ?? {}), ["version"], `job ${name}: the action only installs; the dagger call is a run step`);
  }
});

test("the GitHub workflow: the pull-request job gets a read-only token and no cloud identity", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  assert.equal(wf.permissions, { contents: "read" }, "workflow-wide: read only");
  const pr = Object.entries(wf.jobs).filter(([, j]) => /pull_request/.test(j.if ?? ""));
  assert.is(pr.length, 1);
  const [, job] = pr[0]!;
  assert.is(job.permissions?.["id-token"], undefined, "no OIDC token for pull requests");
  assert.not.ok(
    job.steps.some((s) => /azure\/login/i.test(s.uses ?? "")),
    "no Azure login",
  );
  assert.not.match(JSON.stringify(job.steps), /vars\.|secrets\.|ACTIONS_ID_TOKEN/, "no repository variables, secrets or OIDC");
  for (const [name, j] of Object.entries(wf.jobs).filter(([, j]) => j !== job)) {
    assert.is(j.permissions?.["id-token"], "write", `job ${name} asks for its OIDC token itself`);
  }
  for (const [name, j] of Object.entries(wf.jobs)) {
    const checkout = j.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
    assert.is(checkout?.with?.["persist-credentials"], false, `job ${name} leaves no token in .git for the module's code to read`);
  }
});

// ---- the Dagger CLI install (Azure) ----------------------------------------------------------

/** A download (curl or wget) piped straight into a shell, environment assignments allowed before it. */
const pipesToShell = (text: string) => /\b(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?([A-Za-z_]\w*=\S*\s+)*(ba|z|da)?sh\b/.test(text);

test("no pipeline file pipes a download into a shell", () => {
  for (const f of ["azure-pipelines.yml", ".ci/azure/install-dagger.yml", ".github/workflows/pipeline.yml"]) {
    assert.not.ok(pipesToShell(read(f)), `${f} pipes a download into a shell`);
  }
  assert.ok(
    pipesToShell('curl -fsSL https://dl.dagger.io/dagger/install.sh | BIN_DIR="$HOME/bin" sh'),
    "the check catches the old install line",
  );
  assert.not.ok(pipesToShell("awk -v f=\"$tarball\" '$2 == f' checksums.txt | sha256sum --check --strict -"));
});

/** Runs the template's install script with `curl` replaced by a stand-in serving `files` by URL. */
function runInstall(files: Record<string, Buffer>): { status: number | null; output: string; home: string; urls: string[] } {
  const template = parse(read(".ci/azure/install-dagger.yml")) as { steps: Step[] };
  const script = template.steps
    .map((s) => s.bash ?? "")
    .join("\n")
    .replace(/\$\(DAGGER_VERSION\)/g, engineVersion);
  const dir = tempDir("install-dagger-");
  const served = join(dir, "served");
  const bin = join(dir, "bin");
  const home = join(dir, "home");
  for (const d of [served, bin, home]) mkdirSync(d, { recursive: true });
  const fileFor = (url: string) => url.replace(/[/:]/g, "_");
  for (const [url, body] of Object.entries(files)) writeFileSync(join(served, fileFor(url)), body);
  // curl ... -o FILE URL: copies the served file (404 -> exit 22, as curl -f does) and logs the URL.
  writeFileSync(
    join(bin, "curl"),
    `#!/bin/sh\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; -*) if [ "$1" = "--proto" ] || [ "$1" = "--retry" ]; then shift; fi; shift;; *) url="$1"; shift;; esac; done\n` +
      `echo "$url" >> "${dir}/urls"\nf="${served}/$(printf %s "$url" | tr '/:' '__')"\n[ -f "$f" ] || exit 22\ncp "$f" "$out"\n`,
  );
  chmodSync(join(bin, "curl"), 0o755);
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: home },
    timeout: 60_000,
  });
  const urls = existsSync(join(dir, "urls")) ? readFileSync(join(dir, "urls"), "utf8").trim().split("\n") : [];
  return { status: r.status, output: r.stdout + r.stderr, home, urls };
}

/**
 * A release laid out as Dagger's release tooling writes it (dagger/dagger, .dagger/modules/cli-dev:
 * `dagger/releases/<version>/dagger_v<version>_<os>_<arch>.tar.gz` holding LICENSE and dagger,
 * and `sha256sum` lines in checksums.txt), with a `dagger` that prints its version.
 */
function fakeRelease(arch: string): { files: Record<string, Buffer>; tarball: string } {
  const dir = tempDir("fake-release-");
  writeFileSync(join(dir, "dagger"), `#!/bin/sh\necho "dagger v${engineVersion} (fake)"\n`, { mode: 0o755 });
  writeFileSync(join(dir, "LICENSE"), "Apache License 2.0\n");
  const name = `dagger_v${engineVersion}_linux_${arch}.tar.gz`;
  const made = spawnSync("tar", ["-czf", join(dir, name), "-C", dir, "LICENSE", "dagger"]);
  assert.is(made.status, 0);
  const tarball = readFileSync(join(dir, name));
  const sum = createHash("sha256").update(tarball).digest("hex");
  const base = `https://dl.dagger.io/dagger/releases/${engineVersion}`;
  const other = `${"0".repeat(64)}  dagger_v${engineVersion}_darwin_arm64.tar.gz`;
  return {
    tarball: `${base}/${name}`,
    files: { [`${base}/${name}`]: tarball, [`${base}/checksums.txt`]: Buffer.from(`${other}\n${sum}  ${name}\n`) },
  };
}

const ARCH = process.arch === "arm64" ? "arm64" : "amd64";

test(".ci/azure/install-dagger.yml installs the pinned release once its published checksum verifies", () => {
  const { files, tarball } = fakeRelease(ARCH);
  const r = runInstall(files);
  assert.is(r.status, 0, r.output);
  assert.equal(
    r.urls,
    [tarball, tarball.replace(/[^/]+$/, "checksums.txt")],
    "the pinned version's tarball and checksums, from dl.dagger.io over HTTPS",
  );
  assert.ok(existsSync(join(r.home, ".local/bin/dagger")), "dagger installed");
  assert.match(r.output, /dagger v\d+\.\d+\.\d+ \(fake\)/, "and run once to show its version");
});

test(".ci/azure/install-dagger.yml refuses a tarball that does not match, or a checksums file without it", () => {
  const { files, tarball } = fakeRelease(ARCH);
  const tampered = { ...files, [tarball]: Buffer.concat([files[tarball]!, Buffer.from("x")]) };
  const r = runInstall(tampered);
  assert.is.not(r.status, 0, "a tampered tarball must fail the step");
  assert.not.ok(existsSync(join(r.home, ".local/bin/dagger")), "nothing installed");
  const sums = tarball.replace(/[^/]+$/, "checksums.txt");
  const missing = runInstall({ ...files, [sums]: Buffer.from(`${"0".repeat(64)}  something-else.tar.gz\n`) });
  assert.is.not(missing.status, 0, "no checksum for the tarball must fail the step");
  assert.not.ok(existsSync(join(missing.home, ".local/bin/dagger")));
});

test("the GitHub workflow runs the same functions, secrets as env://", async () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  assert.ok(wf.on.schedule && wf.on.push && wf.on.pull_request);
  assert.is(wf.env.DAGGER_VERSION, engineVersion);
  for (const [name, job] of Object.entries(wf.jobs)) {
    const { calls, args } = await callsIn(job.steps.map((s) => s.run ?? "").join("\n"));
    assert.is(calls.length, 1, `job ${name} runs one dagger call`);
    assert.equal(secretsNotFromEnv(args), [], `job ${name}: secrets must be env://NAME`);
  }
});

test("the secret check itself catches a plain value", async () => {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  checkDaggerCall("dagger call with-cluster --kubeconfig file:./kc --entra-token env://T deploy --image x@sha256:1", mod, (a) =>
    args.push(a),
  );
  assert.equal(secretsNotFromEnv(args), ["--kubeconfig file:./kc"]);
});

test.run();
