/**
 * Records the aws command table the docs test checks commands against (test/fixtures/aws-commands.json):
 * every `aws` command that docs/s3-setup.md runs, with every option `aws <service> <operation> help`
 * lists in its synopsis, from the real AWS CLI.
 *
 *   AWS=/path/to/aws npx tsx scripts/record-aws-commands.ts
 *
 * (The CLI installs from PyPI: python3 -m venv v && v/bin/pip install awscli.) The table is
 * recorded afresh each time, from the commands the guide has now.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AWS_SOURCES, AWS_TABLE, AwsTable, awsCommandsIn, awsPath, shellBlocks } from "../test/support/aws-commands.js";
import { ROOT } from "../test/support/session.js";

const AWS = process.env.AWS ?? "aws";

function aws(args: string[]): string {
  // PAGER=cat: help is printed, not paged; --no-cli-pager is v2 only.
  return execFileSync(AWS, args, {
    encoding: "utf8",
    env: { ...process.env, PAGER: "cat", AWS_PAGER: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Every option in the SYNOPSIS of `aws <path> help` (`--bucket <value>`, `[--flag | --no-flag]`). */
function optionsOf(path: string): string[] {
  // eslint-disable-next-line no-control-regex -- drops man-page bold and underline (a character, then a backspace)
  const help = aws([...path.split(" "), "help"]).replace(/.\x08/g, "");
  const synopsis = /^SYNOPSIS\s*$([\s\S]*?)^OPTIONS\s*$/m.exec(help)?.[1];
  if (!synopsis) throw new Error(`aws ${path} help has no SYNOPSIS section:\n${help.slice(0, 2000)}`);
  const options = new Set(synopsis.match(/--[a-z0-9][a-z0-9-]*/g) ?? []);
  if (!options.size) throw new Error(`aws ${path} help listed no options`);
  return [...options].sort();
}

const paths = new Set<string>();
for (const source of AWS_SOURCES) {
  for (const block of shellBlocks(readFileSync(join(ROOT, source), "utf8"))) {
    for (const words of awsCommandsIn(block)) paths.add(awsPath(words));
  }
}
const version = aws(["--version"]).trim() || execFileSync(AWS, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const table: AwsTable = {
  recordedWith: Object.fromEntries(
    [...version.matchAll(/([\w-]+)\/([\d.]+)/g)].filter((m) => m[1] !== "Python" && m[1] !== "Linux").map((m) => [m[1]!, m[2]!]),
  ),
  commands: Object.fromEntries([...paths].sort().map((p) => [p, optionsOf(p)])),
};
writeFileSync(join(ROOT, AWS_TABLE), JSON.stringify(table, null, 2) + "\n");
console.log(`recorded ${paths.size} aws commands with ${version.trim()} into ${AWS_TABLE}`);
