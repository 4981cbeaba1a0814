/**
 * Records the az command table the docs tests check commands against (test/fixtures/az-commands.json):
 * every `az` command that docs/azure-setup.md and the pipeline files run, with every option
 * `az <command> --help` lists for it, from the real Azure CLI and its azure-devops extension.
 *
 *   AZ=/path/to/az npx tsx scripts/record-az-commands.ts
 *
 * (The CLI installs from PyPI: python3 -m venv v && v/bin/pip install azure-cli; the extension
 * with az extension add --name azure-devops.) Commands already in the table are kept, so a
 * recording only adds; delete the file to record afresh.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AZ_TABLE, AzTable, azCommandsIn, azPath, azShellOf } from "../test/support/az-commands.js";
import { ROOT } from "../test/support/session.js";

const AZ = process.env.AZ ?? "az";
const SOURCES = ["docs/azure-setup.md", "docs/in-cluster-verification.md", "azure-pipelines.yml", ".github/workflows/pipeline.yml"];

function az(args: string[]): string {
  return execFileSync(AZ, args, { encoding: "utf8", env: { ...process.env, AZURE_CORE_COLLECT_TELEMETRY: "false" } });
}

/** Every option token in the argument sections of `az <command> --help` (`--org --organization : ...`). */
function optionsOf(path: string): string[] {
  const help = az([...path.split(" "), "--help"]);
  const options = new Set<string>();
  for (const line of help.split("\n")) {
    const m = /^ {4}((?:--?[A-Za-z][\w-]*\s+)*--?[A-Za-z][\w-]*)\s*(?::|\[Required\])/.exec(line);
    if (m) for (const o of m[1]!.split(/\s+/)) options.add(o);
  }
  if (!options.size) throw new Error(`az ${path} --help listed no options:\n${help}`);
  return [...options].sort();
}

const path = join(ROOT, AZ_TABLE);
const table: AzTable = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as AzTable) : { recordedWith: {}, commands: {} };
const versions = JSON.parse(az(["version", "-o", "json"])) as { "azure-cli": string; extensions: Record<string, string> };
table.recordedWith = { "azure-cli": versions["azure-cli"], ...versions.extensions };
const paths = new Set(SOURCES.flatMap((f) => azCommandsIn(azShellOf(f, readFileSync(join(ROOT, f), "utf8"))).map(azPath)));
for (const p of [...paths].sort()) {
  if (table.commands[p]) continue;
  table.commands[p] = optionsOf(p);
  console.log(`az ${p}: ${table.commands[p].length} options`);
}
table.commands = Object.fromEntries(Object.entries(table.commands).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(path, JSON.stringify(table, null, 2) + "\n");
console.log(`${AZ_TABLE}: ${Object.keys(table.commands).length} commands`);
