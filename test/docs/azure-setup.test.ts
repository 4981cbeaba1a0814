/**
 * docs/azure-setup.md works in the order written: its bash blocks are parsed into one command
 * sequence (line continuations joined, `;`/`&&`/`|` split, `$(az ...)` taken as a command that runs
 * first, loops tracked), and each invariant is a check returning its problems. Every check is also
 * fed a broken copy of the text (the mistakes the old README section made) and must object to it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { azCommandsIn, azProblems, azShellOf, readAzTable } from "../support/az-commands.js";
import { checkDaggerCall, findDaggerCalls, shellWords } from "../support/dagger-call.js";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";
import { parse } from "../support/yaml.js";

const GUIDE = "docs/azure-setup.md";
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");

/** One simple command of the guide, in execution order. */
interface Command {
  text: string;
  /** Words with quotes removed and $NAME / ${NAME} replaced by what the guide assigned to NAME. */
  words: string[];
  /** Inside a for/until/while loop (i.e. retried). */
  inLoop: boolean;
  /** The ```bash block it came from (0 = the first). */
  block: number;
  /** Variables it reads and assigns. */
  uses: string[];
  assigns: string[];
}

/** Variables every shell has. */
const SHELL_VARIABLES = new Set(["HOME", "PATH", "PWD", "USER", "SHELL", "TMPDIR"]);

/** The text of each ```bash block of a Markdown document. */
function bashBlocks(md: string): string[] {
  return [...md.matchAll(/^```bash\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

/** Scans `s` outside quotes and $(...); calls `at` with the index of each top-level character. */
function scanTopLevel(s: string, at: (i: number) => number | void): void {
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "$" && s[i + 1] === "(") {
      depth++;
      i++;
      continue;
    }
    if (c === ")" && depth > 0) {
      depth--;
      continue;
    }
    if (c === "'" || (c === '"' && depth === 0)) {
      quote = c;
      continue;
    }
    if (depth === 0) {
      const skip = at(i);
      if (typeof skip === "number") i = skip;
    }
  }
}

/** The line without its trailing `# comment`. */
function stripComment(line: string): string {
  let end = line.length;
  scanTopLevel(line, (i) => {
    if (line[i] === "#" && (i === 0 || /\s/.test(line[i - 1]!)) && end === line.length) end = i;
  });
  return line.slice(0, end);
}

/** Splits a line at ;, &&, || and | outside quotes and $(...). */
function splitCommands(line: string): string[] {
  const parts: string[] = [];
  let start = 0;
  scanTopLevel(line, (i) => {
    const two = line.slice(i, i + 2);
    if (two === "&&" || two === "||") {
      parts.push(line.slice(start, i));
      start = i + 2;
      return i + 1;
    }
    if (line[i] === ";" || line[i] === "|") {
      parts.push(line.slice(start, i));
      start = i + 1;
    }
  });
  parts.push(line.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

/** The top-level $(...) substitutions of a command that run `az` (they run before it). */
function azSubstitutions(text: string): string[] {
  const found: string[] = [];
  let open = -1;
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" && depth === 0) quote = c;
    else if (c === "$" && text[i + 1] === "(") {
      if (depth++ === 0) open = i + 2;
      i++;
    } else if (c === ")" && depth > 0 && --depth === 0) {
      const inner = text.slice(open, i).trim();
      if (inner.startsWith("az ")) found.push(inner);
    }
  }
  return found;
}

/** Variables read by a command: $NAME and ${NAME} outside single quotes. */
function usedVariables(text: string): string[] {
  const unquoted = text.replace(/'[^']*'/g, "''");
  return [...unquoted.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
}

/** The guide's bash blocks as one ordered list of commands. */
function commandsOf(md: string): Command[] {
  const values = new Map<string, string>();
  const resolve = (word: string, depth = 0): string =>
    depth > 6
      ? word
      : word.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, name: string) =>
          values.has(name) ? resolve(values.get(name)!, depth + 1) : all,
        );
  const out: Command[] = [];
  bashBlocks(md).forEach((code, block) => {
    let loops = 0;
    const lines = code
      .replace(/\\\n\s*/g, " ")
      .split("\n")
      .map(stripComment);
    for (const line of lines) {
      for (let piece of splitCommands(line)) {
        if (/^(for|until|while)\s/.test(piece)) loops++;
        piece = piece.replace(/^(do|then|else|until|while|if|!)\s+/, "");
        if (piece === "done") {
          loops--;
          continue;
        }
        if (piece === "do" || piece === "then" || piece === "fi") continue;
        const add = (text: string): Command => {
          const words = shellWords(text);
          const assigns: string[] = [];
          let uses = usedVariables(text);
          const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(words[0] ?? "");
          if (assignment) assigns.push(assignment[1]!);
          else if (words[0] === "export") {
            for (const w of words.slice(1)) {
              const a = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w);
              if (a) assigns.push(a[1]!);
            }
          } else if (words[0] === "read") assigns.push(words[words.length - 1]!);
          else if (words[0] === "for") {
            assigns.push(words[1]!);
            uses = uses.filter((u) => u !== words[1]);
          }
          const cmd: Command = { text, words: words.map((w) => resolve(w)), inLoop: loops > 0, block, uses, assigns };
          if (assignment) values.set(assignment[1]!, assignment[2]!);
          for (const name of assigns) if (!values.has(name)) values.set(name, `<${name}>`);
          out.push(cmd);
          return cmd;
        };
        for (const inner of azSubstitutions(piece)) add(inner);
        add(piece);
      }
    }
  });
  return out;
}

/** The value after a flag (any of its spellings), or undefined. */
function flag(c: Command, ...names: string[]): string | undefined {
  const i = c.words.findIndex((w) => names.includes(w));
  return i >= 0 ? c.words[i + 1] : undefined;
}
const has = (c: Command, ...names: string[]) => c.words.some((w) => names.includes(w));
const isAz = (c: Command, ...sub: string[]) => c.words[0] === "az" && sub.every((s, i) => c.words[i + 1] === s);

// ---- the checks: each returns the problems it finds, [] when the guide is right ----

/** No command names a resource group before `az group create` created it. */
function resourceGroupCreatedFirst(cmds: Command[]): string[] {
  const created = new Set<string>();
  const problems: string[] = [];
  for (const c of cmds) {
    if (isAz(c, "group", "create")) created.add(flag(c, "--name", "-n") ?? "");
    else if (c.words[0] === "az") {
      const rg = flag(c, "--resource-group", "-g");
      if (rg !== undefined && !created.has(rg)) problems.push(`${c.text}: uses resource group "${rg}" before az group create made it`);
    }
  }
  return problems;
}

/**
 * The container is created with --auth-mode login only after you were given a Storage Blob Data
 * Contributor/Owner role on the account (a data role, which the account's owner lacks), and the
 * creation is retried while that role propagates. With shared keys off, every data-plane command
 * signs in with Entra ID.
 */
function containerAfterItsRole(cmds: Command[]): string[] {
  const problems: string[] = [];
  let roleForMe = false;
  for (const c of cmds) {
    if (isAz(c, "role", "assignment", "create")) {
      const role = flag(c, "--role") ?? "";
      const assignee = flag(c, "--assignee-object-id", "--assignee") ?? "";
      const scope = flag(c, "--scope") ?? "";
      if (
        /^Storage Blob Data (Contributor|Owner)$/.test(role) &&
        assignee.includes("az ad signed-in-user show") &&
        !scope.includes("/containers/")
      )
        roleForMe = true;
    }
    if (isAz(c, "storage", "container") || isAz(c, "storage", "blob")) {
      if (flag(c, "--auth-mode") !== "login") problems.push(`${c.text}: needs --auth-mode login (the account takes no shared key)`);
    }
    if (isAz(c, "storage", "container", "create")) {
      if (!roleForMe)
        problems.push(
          `${c.text}: creates the container before a Storage Blob Data Contributor role for you (az ad signed-in-user show) on the storage account`,
        );
      else if (!c.inLoop) problems.push(`${c.text}: not retried, but a new role assignment takes minutes to apply`);
    }
  }
  return problems;
}

/** The cluster takes Entra ID sign-in and Azure RBAC only (no local accounts), and the pipeline's Writer role is namespace-scoped. */
function aksWithEntraAndAzureRbac(cmds: Command[]): string[] {
  const problems: string[] = [];
  for (const c of cmds) {
    if (isAz(c, "aks", "create")) {
      const missing = ["--enable-aad", "--enable-azure-rbac"].filter((f) => !has(c, f));
      if (missing.length) problems.push(`${c.text}: needs ${missing.join(" and ")} (the RBAC roles and Entra tokens mean nothing without)`);
      if (!has(c, "--disable-local-accounts"))
        problems.push(`${c.text}: needs --disable-local-accounts (else the cluster's admin certificate bypasses Entra ID and Azure RBAC)`);
    }
    if (isAz(c, "role", "assignment", "create") && flag(c, "--role") === "Azure Kubernetes Service RBAC Writer") {
      if (!/\/namespaces\/[^/]+$/.test(flag(c, "--scope") ?? ""))
        problems.push(`${c.text}: RBAC Writer should be scoped to <cluster id>/namespaces/<namespace>`);
    }
  }
  return problems;
}

const HOURS: Record<string, number> = { minute: 1 / 60, hour: 1, day: 24, week: 168, M: 1 / 60, H: 1, d: 24, w: 168 };

/** How far after now a `$(date ...)` expiry lies, in hours (GNU -d '+N unit' or BSD -v+Nu). */
function relativeHours(expiry: string): number | undefined {
  const gnu = /date\b.*-d\s*'?\+?(\d+)\s*(minute|hour|day|week)s?\b/.exec(expiry);
  if (gnu) return Number(gnu[1]) * HOURS[gnu[2]!]!;
  const bsd = /date\b.*-v\+?(\d+)([MHdw])\b/.exec(expiry);
  if (bsd) return Number(bsd[1]) * HOURS[bsd[2]!]!;
  return undefined;
}

/** A user-delegation SAS expires within 7 days of now (the service's cap, enforced by az too). */
function userDelegationSasWithinSevenDays(cmds: Command[]): string[] {
  const problems: string[] = [];
  for (const c of cmds) {
    if (!(c.words[0] === "az" && c.words.includes("generate-sas"))) continue;
    if (!has(c, "--as-user")) {
      problems.push(`${c.text}: only a user-delegation SAS (--as-user --auth-mode login) works without shared keys`);
      continue;
    }
    const expiry = flag(c, "--expiry") ?? "";
    const hours = relativeHours(expiry);
    if (hours === undefined)
      problems.push(`${c.text}: --expiry "${expiry}" is not relative to now; use $(date -u -d '+1 day' '+%Y-%m-%dT%H:%MZ')`);
    else if (hours > 7 * 24) problems.push(`${c.text}: --expiry is ${hours / 24} days away; a user-delegation SAS lasts at most 7 days`);
  }
  return problems;
}

/**
 * Every variable is set before it is used; the names chosen in the first block are never set again
 * (only short-lived tokens, NAME_TOKEN, are fetched afresh, and loop counters count).
 */
function variablesSetBeforeUse(cmds: Command[]): string[] {
  const set = new Set(SHELL_VARIABLES);
  const chosen = new Set(cmds.filter((c) => c.block === 0).flatMap((c) => c.assigns));
  const problems: string[] = [];
  for (const c of cmds) {
    for (const v of c.uses) if (!set.has(v)) problems.push(`${c.text}: uses $${v} before it is set`);
    if (c.words[0] === "export")
      for (const w of c.words.slice(1)) if (!w.includes("=") && !set.has(w)) problems.push(`${c.text}: exports ${w} before it is set`);
    for (const v of c.assigns) {
      const again = set.has(v) && c.words[0] !== "for" && (chosen.has(v) || !v.endsWith("_TOKEN"));
      if (again) problems.push(`${c.text}: sets $${v} again (set it once)`);
      set.add(v);
    }
  }
  return problems;
}

interface Pipeline {
  variables: { name?: string; value?: string }[];
  stages: { stage: string; variables?: { group?: string }[]; jobs: unknown[] }[];
}

/** What the stages that use a variable group read from it. */
interface GroupReads {
  /** Macros $(NAME) in scripts and inputs: the group must define them. */
  plain: Set<string>;
  /** Macros mapped into a step's env (Azure hands secret variables to a script only that way): secret variables, never created in plain text. */
  secret: Set<string>;
  /** Environment variables a script reads with a default, ${NAME:-...}, that nothing in the stage sets: switches the group may set (Azure maps non-secret variables into the environment). */
  optional: Set<string>;
}

/** Variable group name -> what its stages read that the pipeline does not define itself. */
function groupVariables(yml: string): Map<string, GroupReads> {
  const p = parse(yml) as Pipeline;
  const own = new Set(p.variables.map((v) => v.name));
  const groups = new Map<string, GroupReads>();
  const strings = (v: unknown): string[] =>
    typeof v === "string"
      ? [v]
      : Array.isArray(v)
        ? v.flatMap(strings)
        : v && typeof v === "object"
          ? Object.values(v).flatMap(strings)
          : [];
  // A job's own variables (name: value mappings, e.g. an output of an earlier stage) are not the group's.
  const jobVariables = (jobs: unknown[]) =>
    new Set(
      jobs.flatMap((j) => {
        const v = (j as { variables?: unknown }).variables;
        return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : [];
      }),
    );
  const steps = (v: unknown): { env?: Record<string, string> }[] =>
    Array.isArray(v)
      ? v.flatMap(steps)
      : v && typeof v === "object"
        ? [...("env" in v ? [v as { env?: Record<string, string> }] : []), ...Object.values(v).flatMap(steps)]
        : [];
  const macros = (text: string) => [...text.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_.]*)\)/g)].map((m) => m[1]!);
  for (const s of p.stages) {
    const jobOwn = jobVariables(s.jobs);
    const fromGroup = (name: string) => !name.includes(".") && !own.has(name) && !jobOwn.has(name);
    const envValues = steps(s.jobs).flatMap((st) => Object.values(st.env ?? {}).map(String));
    const envNames = new Set(steps(s.jobs).flatMap((st) => Object.keys(st.env ?? {})));
    const texts = strings(s.jobs);
    for (const g of (s.variables ?? []).map((v) => v.group).filter((g): g is string => !!g)) {
      const reads = groups.get(g) ?? { plain: new Set<string>(), secret: new Set<string>(), optional: new Set<string>() };
      for (const name of envValues.flatMap(macros).filter(fromGroup)) reads.secret.add(name);
      for (const name of texts.flatMap(macros).filter(fromGroup)) if (!reads.secret.has(name)) reads.plain.add(name);
      for (const text of texts.map((t) => t.replace(/^\s*#.*$/gm, "")))
        for (const m of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):-/g)) {
          const assigned = new RegExp(`(^|[\\s;(])(export\\s+)?${m[1]}=`, "m").test(text);
          if (!assigned && !envNames.has(m[1]!)) reads.optional.add(m[1]!);
        }
      groups.set(g, reads);
    }
  }
  return groups;
}

/**
 * The guide creates each variable group the pipeline uses with exactly the variables it reads (the
 * optional switches it may leave out), never a secret one in plain text, and names each secret
 * variable the stages map, saying it is secret.
 */
function variableGroupMatchesPipeline(cmds: Command[], yml: string, md = ""): string[] {
  const problems: string[] = [];
  for (const [group, { plain, secret, optional }] of groupVariables(yml)) {
    const c = cmds.find((c) => isAz(c, "pipelines", "variable-group", "create") && flag(c, "--name") === group);
    if (!c) {
      problems.push(`no az pipelines variable-group create --name ${group}`);
      continue;
    }
    const i = c.words.indexOf("--variables");
    const given = new Set<string>();
    for (let j = i + 1; i >= 0 && j < c.words.length && !c.words[j]!.startsWith("--"); j++) given.add(c.words[j]!.split("=")[0]!);
    for (const v of plain) if (!given.has(v)) problems.push(`variable group ${group}: missing ${v}, which azure-pipelines.yml reads`);
    for (const v of given) {
      if (secret.has(v)) problems.push(`variable group ${group}: ${v} is a secret variable, created here in plain text`);
      else if (!plain.has(v) && !optional.has(v)) problems.push(`variable group ${group}: ${v} is not read by azure-pipelines.yml`);
    }
    for (const v of secret)
      if (!new RegExp(`\`${v}\`[\\s\\S]{0,200}\\bsecret`).test(md))
        problems.push(`variable group ${group}: the guide never says to add the secret variable ${v}`);
  }
  return problems;
}

/** Every `dagger call` names functions and flags the module has. */
async function daggerCallsExist(md: string): Promise<string[]> {
  const mod = await introspectModule();
  return findDaggerCalls(bashBlocks(md).join("\n")).flatMap((c) => checkDaggerCall(c, mod));
}

/** Every az command of a file (Markdown: its bash blocks and the commands its prose writes out) checked against the recorded table. */
function azCommandsKnown(file: string, text: string): string[] {
  const table = readAzTable();
  return azCommandsIn(azShellOf(file, text)).flatMap((words) => azProblems(words, table));
}

/** The roles each identity is granted, by the identity the assignee's value comes from. */
function rolesOf(cmds: Command[], identity: string): string[] {
  return cmds
    .filter((c) => isAz(c, "role", "assignment", "create"))
    .filter((c) => new RegExp(`az identity show .*--name "?${identity}"?\\s`).test(flag(c, "--assignee-object-id") ?? ""))
    .map((c) => `${flag(c, "--role")} @ ${scopeKind(flag(c, "--scope") ?? "")}`)
    .sort();
}
/** What a role's scope is, in words: container, storage account, registry, cluster, namespace. */
function scopeKind(scope: string): string {
  if (/\/containers\//.test(scope)) return "container";
  if (/\/namespaces\//.test(scope)) return "namespace";
  if (/az storage account show/.test(scope)) return "storage account";
  if (/az acr show/.test(scope)) return "registry";
  if (/az aks show/.test(scope)) return "cluster";
  return scope;
}

/**
 * The environments the guide creates (a jq-written body naming it, POSTed to distributedtask
 * environments, its id kept in a variable) and the checks it puts on them (a jq-written body
 * with a check type and `--arg env "$ID_VARIABLE"`, POSTed to PipelinesChecks configurations).
 */
function environmentsAndChecks(cmds: Command[]): Map<string, string[]> {
  const bodies = new Map<string, Command>(); // file -> the jq command that wrote it
  for (const c of cmds) {
    const to = c.words.indexOf(">");
    if (c.words[0] === "jq" && to > 0) bodies.set(c.words[to + 1]!, c);
  }
  const posted = (c: Command, area: string, resource: string) =>
    isAz(c, "devops", "invoke") && flag(c, "--area") === area && flag(c, "--resource") === resource && flag(c, "--http-method") === "POST";
  const nameIn = (file: string) => /name: "([^"]+)"/.exec(bodies.get(file)?.text ?? "")?.[1] ?? `? (${file})`;
  const found = new Map<string, string[]>();
  for (const c of cmds) {
    if (posted(c, "distributedtask", "environments"))
      found.set(nameIn(flag(c, "--in-file") ?? ""), found.get(nameIn(flag(c, "--in-file") ?? "")) ?? []);
    if (posted(c, "PipelinesChecks", "configurations")) {
      const body = bodies.get(flag(c, "--in-file") ?? "");
      const type = /name: "(ExclusiveLock|Approval)"/.exec(body?.text ?? "")?.[1] ?? "?";
      // --arg env "$X_ENV_ID": X_ENV_ID holds the id the environment's POST returned; its body names the environment
      const argAt = body?.words.findIndex((w, i) => w === "--arg" && body.words[i + 1] === "env") ?? -1;
      const envFile = /--in-file (\S+)/.exec(argAt >= 0 ? body!.words[argAt + 2]! : "")?.[1] ?? "";
      const env = nameIn(envFile);
      found.set(env, [...(found.get(env) ?? []), type]);
    }
  }
  return found;
}

/** The environment names azure-pipelines.yml's deployment jobs use, by what their stages do. */
function pipelineEnvironments(yml: string): { lock: string[]; approval: string[] } {
  const p = parse(yml) as { stages: { stage: string; jobs: { environment?: string }[] }[] };
  const envs = (pred: (s: string) => boolean) => [
    ...new Set(p.stages.filter((s) => pred(s.stage)).flatMap((s) => s.jobs.map((j) => j.environment ?? ""))),
  ];
  return { lock: envs((s) => ["release", "canary", "promote", "abort", "rollback"].includes(s)), approval: envs((s) => s === "approve") };
}

/** The repository variables the guide sets with gh variable set, and those the workflow reads. */
function githubVariables(md: string, workflow: string): { set: string[]; read: string[] } {
  const set = commandsOf(md)
    .filter((c) => c.words[0] === "gh" && c.words[1] === "variable" && c.words[2] === "set")
    .map((c) => c.words[3]!);
  const read = [...new Set([...workflow.matchAll(/\bvars\.([A-Z_]+)/g)].map((m) => m[1]!))];
  return { set: set.sort(), read: read.sort() };
}

const bash = (...lines: string[]) => "```bash\n" + lines.join("\n") + "\n```\n";
const guide = () => read(GUIDE);
const pipeline = () => read("azure-pipelines.yml");

// ---- the guide as it is ----

test("azure-setup: the guide passes every check", async () => {
  const cmds = commandsOf(guide());
  assert.ok(cmds.length > 30, "the guide's bash blocks parse into commands");
  assert.equal(resourceGroupCreatedFirst(cmds), []);
  assert.equal(containerAfterItsRole(cmds), []);
  assert.equal(aksWithEntraAndAzureRbac(cmds), []);
  assert.equal(userDelegationSasWithinSevenDays(cmds), []);
  assert.equal(variablesSetBeforeUse(cmds), []);
  assert.equal(variableGroupMatchesPipeline(cmds, pipeline(), guide()), []);
  assert.equal(await daggerCallsExist(guide()), []);
  assert.equal(azCommandsKnown(GUIDE, guide()), [], "every az command and option is one the CLI has");
});

test("azure-setup: every az command the guide and the pipelines run is in the recorded az CLI command table, with options it has", () => {
  const table = readAzTable();
  assert.ok(table.recordedWith["azure-cli"] && table.recordedWith["azure-devops"], "recorded from the CLI and its azure-devops extension");
  const guideCommands = azCommandsIn(azShellOf(GUIDE, guide()));
  assert.ok(guideCommands.length > 50, `${guideCommands.length} az commands in the guide`);
  for (const f of ["azure-pipelines.yml", ".github/workflows/pipeline.yml"]) {
    assert.ok(azCommandsIn(azShellOf(f, read(f))).length > 0, f);
    assert.equal(azCommandsKnown(f, read(f)), [], f);
  }
});

test("azure-setup: the steps come in the issue's order", () => {
  const cmds = commandsOf(guide());
  const first = (...sub: string[]) => cmds.findIndex((c) => isAz(c, ...sub));
  const order = [
    first("group", "create"),
    first("storage", "account", "create"),
    first("storage", "container", "create"),
    first("acr", "create"),
    first("aks", "create"),
    first("identity", "federated-credential", "create"),
    first("pipelines", "variable-group", "create"),
    first("repos", "policy", "build", "create"),
    first("devops", "invoke"),
    first("pipelines", "run"),
    first("role", "assignment", "delete"),
  ];
  assert.ok(!order.includes(-1), `every step is there: ${order.join(", ")}`);
  assert.equal(
    order,
    [...order].sort((a, b) => a - b),
  );
});

test("azure-setup: two identities, each with only its roles: build pushes and reads models, release changes the namespace, reads images and moves the production alias", () => {
  const cmds = commandsOf(guide());
  assert.equal(rolesOf(cmds, "ai-app-build"), ["AcrPush @ registry", "Storage Blob Data Reader @ container"]);
  assert.equal(rolesOf(cmds, "ai-app-release"), [
    "AcrPull @ registry",
    "Azure Kubernetes Service Cluster User Role @ cluster",
    "Azure Kubernetes Service RBAC Writer @ namespace",
    "Storage Blob Data Contributor @ container",
  ]);
  // the names the pipeline file relies on
  const p = parse(pipeline()) as Pipeline;
  for (const name of ["buildConnection", "releaseConnection"]) {
    const connection = p.variables.find((v) => v.name === name)?.value ?? "";
    assert.ok(connection && guide().includes("`" + connection + "`"), `the guide names the service connection ${connection} (${name})`);
  }
  const credentials = cmds.filter((c) => isAz(c, "identity", "federated-credential", "create")).map((c) => flag(c, "--identity-name"));
  assert.equal(credentials.slice(0, 2), ["ai-app-build", "ai-app-release"], "one Azure DevOps federated credential per identity");
  const policy = cmds.find((c) => isAz(c, "repos", "policy", "build", "create"))!;
  assert.is(flag(policy, "--branch"), "main");
  assert.is(flag(policy, "--blocking"), "true");
});

test("azure-setup: the guide creates the environments azure-pipelines.yml uses, the lock on the one the cluster stages use and the approval on the approve stage's", () => {
  const envs = pipelineEnvironments(pipeline());
  assert.equal([envs.lock, envs.approval], [["ai-app-production"], ["ai-app-approval"]]);
  const found = environmentsAndChecks(commandsOf(guide()));
  assert.equal(Object.fromEntries(found), { "ai-app-production": ["ExclusiveLock"], "ai-app-approval": ["Approval"] });
});

test("azure-setup: GitHub Actions: the build trusts main, the release the production environment; the guide sets exactly the variables the workflow reads", () => {
  const cmds = commandsOf(guide());
  const github = cmds.filter(
    (c) => isAz(c, "identity", "federated-credential", "create") && flag(c, "--issuer") === "https://token.actions.githubusercontent.com",
  );
  assert.equal(
    github.map((c) => [flag(c, "--identity-name"), flag(c, "--subject")]),
    [
      ["ai-app-build", "repo:my-org/ai-app:ref:refs/heads/main"],
      ["ai-app-release", "repo:my-org/ai-app:environment:ai-app-production"],
    ],
  );
  const wf = read(".github/workflows/pipeline.yml");
  assert.match(wf, /environment: ai-app-production/);
  const { set, read: readVars } = githubVariables(guide(), wf);
  assert.equal(
    set,
    readVars.filter((v) => v !== "MODEL_PUBLIC_KEY"),
    "the guide sets every variable the workflow reads (the public key once models are signed)",
  );
  assert.match(guide(), /gh variable set MODEL_PUBLIC_KEY/);
  const secretsSet = commandsOf(guide())
    .filter((c) => c.words[0] === "gh" && c.words[1] === "secret" && c.words[2] === "set")
    .map((c) => c.words[3]!)
    .sort();
  const secretsRead = [...new Set([...wf.matchAll(/\bsecrets\.([A-Z_]+)/g)].map((m) => m[1]!))].sort();
  assert.ok(secretsRead.length > 0, "the workflow reads the signing key from its secrets");
  assert.equal(secretsSet, secretsRead, "the guide stores every secret the workflow reads");
});

test("azure-setup: the cluster's local accounts are off, and your temporary cluster-admin grant is taken back after its last use", () => {
  const cmds = commandsOf(guide());
  const granted = cmds.findIndex(
    (c) => isAz(c, "role", "assignment", "create") && flag(c, "--role") === "Azure Kubernetes Service RBAC Cluster Admin",
  );
  const revoked = cmds.findIndex(
    (c) =>
      isAz(c, "role", "assignment", "delete") &&
      flag(c, "--role") === "Azure Kubernetes Service RBAC Cluster Admin" &&
      (flag(c, "--assignee") ?? "").includes("az ad signed-in-user show") &&
      (flag(c, "--scope") ?? "").includes("az aks show"),
  );
  assert.ok(granted >= 0 && revoked > granted, `granted at ${granted}, revoked at ${revoked}`);
  const lastUse = Math.max(...cmds.map((c, i) => (/^(kubectl|dagger)$/.test(c.words[0] ?? "") && c.text.includes("kubeconfig") ? i : -1)));
  assert.ok(revoked > lastUse, "revoked after the last command that uses your cluster rights");
});

test("azure-setup: the Azure pipeline files point to the guide, not to a README section", () => {
  assert.match(pipeline(), /docs\/azure-setup\.md/);
  const files = ["azure-pipelines.yml", ...readdirSync(join(ROOT, ".ci/azure")).map((f) => `.ci/azure/${f}`)];
  for (const f of files) assert.not.match(read(f), /README, "Azure set-up"/, f);
});

// ---- each check objects to a broken copy ----

test("azure-setup: an az command or option the CLI does not have is caught", () => {
  const broken = bash(
    "az aks create -g ai-app -n a --enable-aad --enable-azure-rbac --disable-local-accounts --no-such-option x",
    "az pipelines environment create --name ai-app-production",
    'X=$(az role assignment list --assignee "$ME" --query id -o tsv)',
  );
  assert.equal(azCommandsKnown(GUIDE, broken), [
    "az aks create: no option --no-such-option",
    "az pipelines environment create: not a command in the recorded table (test/fixtures/az-commands.json; record it with scripts/record-az-commands.ts)",
    "az role assignment list: not a command in the recorded table (test/fixtures/az-commands.json; record it with scripts/record-az-commands.ts)",
  ]);
  const prose = 'Run `az group delete --name "$RG" --yes-please` to remove it all.';
  assert.equal(azCommandsKnown(GUIDE, prose), ["az group delete: no option --yes-please"], "a command the prose writes out counts too");
});

test("azure-setup: an identity with a role it does not need, or a check on the wrong environment, is caught", () => {
  const extra = guide().replace(
    'az role assignment create --assignee-object-id "$RELEASE_PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \\\n  --role AcrPull --scope "$ACR_ID"',
    'az role assignment create --assignee-object-id "$RELEASE_PRINCIPAL_ID" --assignee-principal-type ServicePrincipal \\\n  --role AcrPush --scope "$ACR_ID"',
  );
  assert.ok(extra !== guide(), "the guide grants the release AcrPull as this test expects");
  assert.ok(rolesOf(commandsOf(extra), "ai-app-release").includes("AcrPush @ registry"));
  const swapped = guide().replace('jq -n --arg env "$PRODUCTION_ENV_ID"', 'jq -n --arg env "$APPROVAL_ENV_ID"');
  assert.ok(swapped !== guide());
  assert.equal(Object.fromEntries(environmentsAndChecks(commandsOf(swapped))), {
    "ai-app-production": [],
    "ai-app-approval": ["ExclusiveLock", "Approval"],
  });
});

test("azure-setup: a resource group used before az group create is caught", () => {
  const broken = bash(
    "RG=ai-app",
    'az storage account create --name s --resource-group "$RG" --location westeurope',
    'az group create --name "$RG" --location westeurope',
  );
  assert.match(resourceGroupCreatedFirst(commandsOf(broken)).join("\n"), /uses resource group "ai-app" before az group create/);
  const inner = bash(
    "RG=ai-app",
    'ID=$(az acr show --resource-group "$RG" --name r --query id -o tsv)',
    'az group create -n "$RG" -l westeurope',
  );
  assert.is(resourceGroupCreatedFirst(commandsOf(inner)).length, 1, "a $(az ...) inside an assignment counts too");
  const fixed = bash("RG=ai-app", 'az group create --name "$RG" --location westeurope', 'az storage account create --name s -g "$RG"');
  assert.equal(resourceGroupCreatedFirst(commandsOf(fixed)), []);
});

test("azure-setup: a container created before the role that allows it is caught", () => {
  // the old README: container first, then a reader role on it for someone else
  const old = bash(
    "az storage account create -g ai-app -n mystorage --sku Standard_LRS --allow-blob-public-access false",
    "az storage container create --account-name mystorage -n models --auth-mode login",
    'az role assignment create --assignee x --role "Storage Blob Data Reader" --scope "$(az storage account show -n mystorage --query id -o tsv)/blobServices/default/containers/models"',
  );
  assert.match(containerAfterItsRole(commandsOf(old)).join("\n"), /creates the container before a Storage Blob Data Contributor role/);
  const me = "ME=$(az ad signed-in-user show --query id -o tsv)\nID=$(az storage account show -n s --query id -o tsv)";
  const grant = 'az role assignment create --assignee-object-id "$ME" --role "Storage Blob Data Contributor" --scope "$ID"';
  const notRetried = bash(me, grant, "az storage container create --account-name s -n models --auth-mode login");
  assert.match(containerAfterItsRole(commandsOf(notRetried)).join("\n"), /not retried/);
  const keyAuth = bash(me, grant, "for i in 1 2; do", "  az storage container create --account-name s -n models && break", "done");
  assert.match(containerAfterItsRole(commandsOf(keyAuth)).join("\n"), /needs --auth-mode login/);
  const fixed = bash(
    me,
    grant,
    "for i in 1 2; do",
    "  az storage container create --account-name s -n models --auth-mode login && break",
    "done",
  );
  assert.equal(containerAfterItsRole(commandsOf(fixed)), []);
});

test("azure-setup: az aks create without Entra ID and Azure RBAC is caught", () => {
  const old = bash("az aks create -g ai-app -n myaks --enable-managed-identity --attach-acr myacr --generate-ssh-keys");
  assert.match(aksWithEntraAndAzureRbac(commandsOf(old)).join("\n"), /needs --enable-aad and --enable-azure-rbac/);
  const halfway = bash("az aks create -g ai-app -n myaks --enable-aad --generate-ssh-keys");
  assert.match(aksWithEntraAndAzureRbac(commandsOf(halfway)).join("\n"), /needs --enable-azure-rbac/);
  assert.match(aksWithEntraAndAzureRbac(commandsOf(halfway)).join("\n"), /needs --disable-local-accounts/);
  const clusterWide = bash(
    'az role assignment create --assignee-object-id x --role "Azure Kubernetes Service RBAC Writer" --scope "$(az aks show -g g -n a --query id -o tsv)"',
  );
  assert.match(aksWithEntraAndAzureRbac(commandsOf(clusterWide)).join("\n"), /scoped to <cluster id>\/namespaces/);
});

test("azure-setup: a user-delegation SAS expiring more than 7 days out is caught", () => {
  const sas = (expiry: string) =>
    commandsOf(
      bash(
        `T=$(az storage container generate-sas --account-name s -n models --permissions rl --expiry ${expiry} --auth-mode login --as-user -o tsv)`,
      ),
    );
  assert.match(userDelegationSasWithinSevenDays(sas("2027-01-01")).join("\n"), /not relative to now/, "the old README's fixed date");
  assert.match(userDelegationSasWithinSevenDays(sas(`"$(date -u -d '+30 days' '+%Y-%m-%dT%H:%MZ')"`)).join("\n"), /30 days away/);
  assert.match(userDelegationSasWithinSevenDays(sas(`"$(date -u -v+8d '+%Y-%m-%dT%H:%MZ')"`)).join("\n"), /8 days away/);
  assert.equal(userDelegationSasWithinSevenDays(sas(`"$(date -u -d '+7 days' '+%Y-%m-%dT%H:%MZ')"`)), []);
  assert.equal(userDelegationSasWithinSevenDays(sas(`"$(date -u -d '+12 hours' '+%Y-%m-%dT%H:%MZ')"`)), []);
  const keySigned = commandsOf(bash("az storage container generate-sas --account-name s -n models --permissions rl --expiry 2027-01-01"));
  assert.match(userDelegationSasWithinSevenDays(keySigned).join("\n"), /only a user-delegation SAS/);
});

test("azure-setup: a variable used before it is set, or set twice, is caught", () => {
  const early = bash('az acr create --resource-group "$RG" --name r --sku Standard', "RG=ai-app");
  assert.match(variablesSetBeforeUse(commandsOf(early)).join("\n"), /uses \$RG before it is set/);
  const exported = bash("export ACR_TOKEN", "ACR_TOKEN=x");
  assert.match(variablesSetBeforeUse(commandsOf(exported)).join("\n"), /exports ACR_TOKEN before it is set/);
  const twice = bash("RG=ai-app") + bash("RG=other");
  assert.match(variablesSetBeforeUse(commandsOf(twice)).join("\n"), /sets \$RG again/);
  const refreshed = bash("RG=ai-app") + bash("AKS_TOKEN=a") + bash("AKS_TOKEN=b", "echo \"$AKS_TOKEN\" '$NOT_EXPANDED'");
  assert.equal(variablesSetBeforeUse(commandsOf(refreshed)), [], "tokens may be fetched again; single quotes expand nothing");
  const loop = bash("for attempt in $(seq 1 3); do", '  echo "$attempt"', "done");
  assert.equal(variablesSetBeforeUse(commandsOf(loop)), []);
});

test("azure-setup: a variable group missing a variable azure-pipelines.yml reads is caught", () => {
  const withoutOne = guide().replace(' AKS_NAMESPACE="$NAMESPACE"', "");
  assert.ok(withoutOne !== guide(), "the guide sets AKS_NAMESPACE as expected by this test");
  assert.equal(variableGroupMatchesPipeline(commandsOf(withoutOne), pipeline(), guide()), [
    "variable group ai-app-pipeline: missing AKS_NAMESPACE, which azure-pipelines.yml reads",
  ]);
  const extra = guide().replace("--variables \\", "--variables ACR_PASSWORD=x \\");
  assert.ok(extra !== guide(), "the guide's --variables ends its line as expected by this test");
  assert.match(variableGroupMatchesPipeline(commandsOf(extra), pipeline()).join("\n"), /ACR_PASSWORD is not read/);
  assert.match(variableGroupMatchesPipeline([], pipeline()).join("\n"), /no az pipelines variable-group create --name ai-app-pipeline/);
  const plainSecret = guide().replace("--variables \\", "--variables COSIGN_PASSWORD=x \\");
  assert.match(
    variableGroupMatchesPipeline(commandsOf(plainSecret), pipeline(), guide()).join("\n"),
    /COSIGN_PASSWORD is a secret variable, created here in plain text/,
  );
  const unsaid = guide().replaceAll("`COSIGN_KEY`", "the key");
  assert.ok(unsaid !== guide(), "the guide names the secret variable COSIGN_KEY");
  assert.equal(variableGroupMatchesPipeline(commandsOf(unsaid), pipeline(), unsaid), [
    "variable group ai-app-pipeline: the guide never says to add the secret variable COSIGN_KEY",
  ]);
  const unknownSwitch = guide().replace("--variables \\", "--variables SIGN_EVERYTHING=true \\");
  assert.match(variableGroupMatchesPipeline(commandsOf(unknownSwitch), pipeline(), guide()).join("\n"), /SIGN_EVERYTHING is not read/);
});

test("azure-setup: a dagger call with an unknown function or flag is caught", async () => {
  const broken = bash(
    "dagger call with-store --account s --no-such-flag x models",
    "dagger call with-registry --address r.azurecr.io relase --channel main",
  );
  const problems = (await daggerCallsExist(broken)).join("\n");
  assert.match(problems, /with-store has no flag --no-such-flag/);
  assert.match(problems, /no function "relase"/);
});

test("azure-setup: the parser splits, joins and resolves as bash would", () => {
  const cmds = commandsOf(
    bash("X=a # note", 'Y="$X/b"', 'az thing --scope "$Y" \\', "  --other 'q # not a comment' && echo done; echo \"$X\" | cat"),
  );
  assert.equal(
    cmds.map((c) => c.words),
    [["X=a"], ["Y=a/b"], ["az", "thing", "--scope", "a/b", "--other", "q # not a comment"], ["echo", "done"], ["echo", "a"], ["cat"]],
  );
});

test.run();
