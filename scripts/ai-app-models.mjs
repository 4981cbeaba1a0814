#!/usr/bin/env node
// The model-store command as a bin (package.json "bin": npx ai-app-models ...; npm run model).
// It runs the CLI as plain JavaScript: dagger/src/model-store and dagger/src/credentials compiled
// by esbuild, as the Dagger step compiles them, into dagger/node_modules/.cache/ai-app-models/<key>
// (packages resolve from dagger/node_modules), again only when a source file changed. The usage
// texts are written beside it at that time, so `--help` alone is answered without loading the
// store or its packages. Signals reach the command directly: no npm or tsx process in between.
import { createHash, randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";

const MODULE = join(import.meta.dirname, "../dagger");
const SOURCES = ["model-store", "credentials"].map((d) => join(MODULE, "src", d));
const CACHE = join(MODULE, "node_modules/.cache/ai-app-models");
/** Compiled trees of earlier sources are removed once this old (a command still running from one keeps working). */
const KEEP_OLD_MS = 24 * 3600 * 1000;

function sourceFiles() {
  return SOURCES.flatMap((dir) =>
    readdirSync(dir, { recursive: true })
      .map((f) => join(dir, f))
      .filter((f) => /\.(ts|json)$/.test(f) && !f.endsWith(".d.ts")),
  ).sort();
}

/** Names the compiled tree: every source file's path, size and mtime, and the compiler's version. */
function sourceKey(files, esbuildVersion) {
  const h = createHash("sha256").update(`esbuild ${esbuildVersion}\n`);
  for (const f of files) {
    const s = statSync(f);
    h.update(`${relative(MODULE, f)} ${s.size} ${s.mtimeMs}\n`);
  }
  return h.digest("hex").slice(0, 16);
}

/** The directory holding the compiled CLI for the sources as they are now; compiles them when needed. */
async function compiledCli() {
  const requireFromModule = createRequire(join(MODULE, "package.json"));
  const esbuildPackage = requireFromModule.resolve("esbuild/package.json");
  const { version } = JSON.parse(readFileSync(esbuildPackage, "utf8"));
  const files = sourceFiles();
  const out = join(CACHE, sourceKey(files, version));
  if (existsSync(join(out, "help.json"))) return out;

  const esbuild = await import(pathToFileURL(requireFromModule.resolve("esbuild")).href);
  const work = `${out}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await esbuild.build({
    entryPoints: files,
    outdir: work,
    outbase: join(MODULE, "src"),
    format: "esm",
    platform: "node",
    loader: { ".json": "copy" },
    logLevel: "warning",
  });
  const args = await import(pathToFileURL(join(work, "model-store/cli-args.js")).href);
  const commands = Object.fromEntries(args.COMMANDS.map((c) => [c, args.commandUsage(c)]));
  writeFileSync(join(work, "help.json"), JSON.stringify({ usage: args.USAGE, commands }));
  try {
    renameSync(work, out);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another call compiled the same sources first
  }
  for (const old of readdirSync(CACHE)) {
    const p = join(CACHE, old);
    if (p !== out && Date.now() - statSync(p).mtimeMs > KEEP_OLD_MS) rmSync(p, { recursive: true, force: true });
  }
  return out;
}

/** The usage text when argv only asks for help (as the CLI's parser reads it), else undefined. */
function helpOnly(dir, argv) {
  const help = JSON.parse(readFileSync(join(dir, "help.json"), "utf8"));
  const asks = (a) => a === "--help" || a === "-h";
  if (argv.length === 0 || (argv.length === 1 && (argv[0] === "help" || asks(argv[0])))) return help.usage;
  if (argv.length === 2 && asks(argv[1]) && Object.hasOwn(help.commands, argv[0])) return help.commands[argv[0]];
  return undefined;
}

const argv = process.argv.slice(2);
const dir = await compiledCli();
const text = helpOnly(dir, argv);
if (text !== undefined) process.stdout.write(text);
else {
  const { runAsCommand } = await import(pathToFileURL(join(dir, "model-store/cli.js")).href);
  await runAsCommand(argv);
}
