/**
 * The TypeScript runtime's dependency install for a Node module, step for step
 * (dagger v0.21.8 and backport-0.21, sdk/typescript/runtime/):
 *
 * 1. runtime_node.go `withPackageJSON` -> tsutils/package_json_updator.go
 *    `UpdatePackageJSONForModule`: `type: module`, `dependencies.typescript` set to the runtime's
 *    default (tsdistconsts/consts.go) only when absent, `@dagger.io/dagger` deleted from
 *    `dependencies` and `devDependencies`.
 * 2. config.go `detectPackageManager`: a package-lock.json and no `packageManager` field means npm
 *    at `NpmDefaultVersion`; runtime_node.go `withSetupPackageManager` installs it when `npm -v` differs.
 * 3. runtime_node.go `NpmPkgManager.withInstalledDependencies`: unless the original package.json
 *    pins `dependencies.typescript` to the default (then the runtime mounts its own TypeScript),
 *    the lockfile and .npmrc are added next to the rewritten package.json and `npm install --omit=dev` runs.
 *
 * The result is cached in .tmp/runtime-install/<hash of everything npm sees>, so a warm run costs
 * nothing; the most recently used installs are kept (each is a full node_modules).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** sdk/typescript/runtime/tsdistconsts/consts.go, DefaultTypeScriptVersion. */
export const RUNTIME_DEFAULT_TYPESCRIPT = "5.9.3";
/** sdk/typescript/runtime/config.go, NpmDefaultVersion. */
export const RUNTIME_NPM_VERSION = "11.8.0";
/** Installs kept in the cache (~140 MB each): one test run uses three, the module's own and two variants. */
const CACHE_KEEP = 3;

type Json = Record<string, unknown>;
type Deps = Record<string, string>;

/** The runtime's package.json rewrite (tsutils/package_json_updator.go, UpdatePackageJSONForModule). */
export function rewritePackageJson(original: string): string {
  const pkg = JSON.parse(original) as Json & { dependencies?: Deps; devDependencies?: Deps };
  pkg.type = "module";
  pkg.dependencies ??= {};
  if (!("typescript" in pkg.dependencies)) pkg.dependencies.typescript = RUNTIME_DEFAULT_TYPESCRIPT;
  delete pkg.dependencies["@dagger.io/dagger"];
  if (pkg.devDependencies) delete pkg.devDependencies["@dagger.io/dagger"];
  return JSON.stringify(pkg, null, 2) + "\n";
}

export interface InstallInputs {
  /** The module's package.json as uploaded (before the runtime rewrites it). */
  packageJson: string;
  /** Its package-lock.json. */
  packageLock: string;
  /** Its .npmrc, if the upload holds one. */
  npmrc?: string | undefined;
}

export interface Installed {
  /** Directory holding the rewritten package.json, the lockfile npm left and node_modules. */
  dir: string;
  /** Whether this call ran npm (false: taken from the cache). */
  installed: boolean;
}

/**
 * The runtime's install, cached under `cacheRoot`. `node` is the Node binary npm runs under
 * (the runtime image's major version).
 */
export function runtimeInstall(inputs: InstallInputs, cacheRoot: string, node: string): Installed {
  const original = JSON.parse(inputs.packageJson) as { dependencies?: Deps };
  if (original.dependencies?.typescript === RUNTIME_DEFAULT_TYPESCRIPT) {
    // runtime_node.go mounts the engine's bundled TypeScript here instead; that copy is not available offline.
    throw new Error(
      `runtime-install: dependencies.typescript = ${RUNTIME_DEFAULT_TYPESCRIPT} makes the runtime use its own TypeScript, which this harness does not emulate`,
    );
  }
  const packageJson = rewritePackageJson(inputs.packageJson);
  const nodeMajor = spawnSync(node, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout.trim();
  const key = createHash("sha256")
    .update(JSON.stringify([RUNTIME_NPM_VERSION, nodeMajor, packageJson, inputs.packageLock, inputs.npmrc ?? null]))
    .digest("hex")
    .slice(0, 16);
  const dir = join(cacheRoot, key);
  if (existsSync(join(dir, ".complete"))) {
    markUsed(dir);
    prune(cacheRoot);
    return { dir, installed: false };
  }

  // Install next to the final place, then rename: a crash never leaves a half install under the key.
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "package.json"), packageJson);
  writeFileSync(join(work, "package-lock.json"), inputs.packageLock);
  if (inputs.npmrc !== undefined) writeFileSync(join(work, ".npmrc"), inputs.npmrc);
  // --no-audit/--no-fund only skip two network reports; what lands in node_modules is the runtime's.
  npm(work, node, ["install", "--omit=dev", "--no-audit", "--no-fund"]);
  writeFileSync(join(work, ".complete"), "");
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  markUsed(dir);
  prune(cacheRoot);
  return { dir, installed: true };
}

function markUsed(dir: string): void {
  const now = new Date();
  utimesSync(join(dir, ".complete"), now, now);
}

/** Keeps the CACHE_KEEP most recently used installs; drops leftovers of interrupted ones after an hour. */
function prune(cacheRoot: string): void {
  const lastUse = (name: string) => statSync(join(cacheRoot, name, ".complete"), { throwIfNoEntry: false })?.mtimeMs;
  const entries = readdirSync(cacheRoot);
  for (const name of entries.filter((n) => n.includes(".partial-"))) {
    if (Date.now() - statSync(join(cacheRoot, name)).mtimeMs > 3_600_000) rmSync(join(cacheRoot, name), { recursive: true, force: true });
  }
  const complete = entries.filter((n) => !n.includes(".partial-")).sort((a, b) => (lastUse(b) ?? 0) - (lastUse(a) ?? 0));
  for (const name of complete.slice(CACHE_KEEP)) rmSync(join(cacheRoot, name), { recursive: true, force: true });
}

/** Runs the runtime's npm version (fetched once through `npm exec`) with a clean environment. */
function npm(cwd: string, node: string, args: string[]): void {
  // Proxy and CA settings pass through; npm_* settings an `npm test` parent exports (and any
  // NODE_OPTIONS loader) do not, so they cannot change what gets installed.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "NODE_OPTIONS"),
  ) as NodeJS.ProcessEnv;
  env.PATH = `${dirname(node)}:${process.env.PATH ?? ""}`;
  const r = spawnSync("npm", ["exec", "--yes", `--package=npm@${RUNTIME_NPM_VERSION}`, "--", "npm", ...args], {
    cwd,
    env,
    encoding: "utf8",
    timeout: 5 * 60_000,
  });
  if (r.status !== 0) {
    throw new Error(
      `runtime-install: npm ${args.join(" ")} failed in ${cwd} (exit ${r.status}${r.signal ? `, ${r.signal}` : ""}):\n${r.stderr.slice(-4000)}`,
    );
  }
}
