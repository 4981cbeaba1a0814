/**
 * The module source as a Dagger engine uploads it and as the TypeScript runtime splits it.
 *
 * Engine (dagger v0.21.8 and backport-0.21, core/schema/modulesource.go, loadModuleSourceContext):
 * the context directory is loaded from the host with include = [dagger.json, <source subpath>,
 * ...dagger.json `include` rebased onto the context] and gitignore on. Patterns are applied in
 * order, the last match wins, a `!` pattern excludes, and a pattern matching a directory covers
 * everything under it.
 *
 * Runtime (sdk/typescript/runtime/config.go): `cfg.source` is the context's `source` subpath;
 * `moduleConfigFiles` (package.json, lockfiles, tsconfig.json...) are read apart, and
 * `wrappedSourceCodeDirectory` is every other file except `sdk` and `node_modules`.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { matchesGlob, posix } from "node:path";

/** sdk/typescript/runtime/config.go, moduleConfigFiles. */
export const MODULE_CONFIG_FILES = [
  "package.json",
  "tsconfig.json",
  "pnpm-workspace.yaml",
  ".yarnrc.yml",
  "package-lock.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "bun.lockb",
  "bun.lock",
  "bunfig.toml",
  "deno.json",
  "deno.lock",
];

interface DaggerJson {
  source?: string;
  include?: string[];
}

export interface UploadedModule {
  /** The module's source subpath inside the context, e.g. `dagger`. */
  sourceSubpath: string;
  /** Files of the source subpath the engine uploads, relative to it. */
  files: string[];
}

/** What the engine would upload of the module rooted at `contextDir` (which holds dagger.json). */
export function uploadedModule(contextDir: string): UploadedModule {
  const config = JSON.parse(readFileSync(posix.join(contextDir, "dagger.json"), "utf8")) as DaggerJson;
  const sourceSubpath = posix.normalize(config.source ?? ".");
  if (sourceSubpath === ".")
    throw new Error("runtime-upload: a module whose source is the context root is not emulated; set `source` in dagger.json");
  const patterns = ["dagger.json", sourceSubpath, ...(config.include ?? [])];
  const prefix = `${sourceSubpath}/`;
  const files = hostFilesRespectingGitignore(contextDir, sourceSubpath)
    .filter((f) => included(f, patterns))
    .map((f) => f.slice(prefix.length));
  if (!files.includes("package.json")) throw new Error(`runtime-upload: no ${sourceSubpath}/package.json in the upload`);
  return { sourceSubpath, files };
}

/** The runtime's split of the uploaded files: config files vs the wrapped source directory. */
export function isModuleConfigFile(rel: string): boolean {
  return MODULE_CONFIG_FILES.includes(rel);
}

export function isWrappedSource(rel: string): boolean {
  const top = rel.split("/")[0]!;
  return !isModuleConfigFile(rel) && top !== "sdk" && top !== "node_modules";
}

/** Files under `subpath`, tracked or not, minus what .gitignore excludes (the engine's `gitignore: true`). */
function hostFilesRespectingGitignore(contextDir: string, subpath: string): string[] {
  const r = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", subpath], {
    cwd: contextDir,
    encoding: "utf8",
  });
  if (r.status !== 0)
    throw new Error(`runtime-upload: listing ${subpath} with git failed (run the tests from a git checkout): ${r.stderr.trim()}`);
  // `--cached` also lists files deleted from the work tree; the engine only sees what exists.
  const deleted = spawnSync("git", ["ls-files", "--deleted", "-z", "--", subpath], { cwd: contextDir, encoding: "utf8" }).stdout.split(
    "\0",
  );
  return [...new Set(r.stdout.split("\0"))].filter((f) => f && !deleted.includes(f));
}

/** Last matching pattern wins; a pattern that matches a parent directory matches the file. */
function included(file: string, patterns: string[]): boolean {
  let result = false;
  const parts = file.split("/");
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = posix.normalize(negated ? raw.slice(1) : raw);
    if (candidates.some((c) => matchesGlob(c, pattern))) result = !negated;
  }
  return result;
}
