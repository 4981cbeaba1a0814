/**
 * The TypeScript runtime's module container, laid out on disk and run against the fake engine.
 *
 * Layout (dagger v0.21.8 and backport-0.21, sdk/typescript/runtime/runtime_node.go `SetupContainer`,
 * workdir /src/<source subpath>): the rewritten package.json and lockfile with the node_modules of
 * `npm install --omit=dev` (runtime-install.ts); the generated SDK library mounted at `sdk/` and again
 * at `node_modules/@dagger.io/dagger` (runtime-sdk.ts); tsconfig.json rewritten by
 * tsutils/tsconfig_updator.go `UpdateTSConfigForModule`; the wrapped source (runtime-upload.ts); and
 * src/__dagger.entrypoint.ts (tsutils/bin/__dagger.entrypoint.ts).
 *
 * Run: the container's entrypoint is `tsx --no-deprecation --tsconfig <tsconfig> <entrypoint>` with
 * NODE_OPTIONS=--use-openssl-ca. Its tsx is the engine's own (`npm install -g tsx@4.15.6` in
 * toolchains/engine-dev/build/sdk.go, mounted at /usr/local/lib/node_modules/tsx), outside the
 * module; here the workspace's tsx stands in for it, equally outside the module directory.
 *
 * The directory is assembled under the OS temp dir, never inside the repository, so that Node's
 * lookup of a missing package cannot climb into the workspace's own node_modules.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, parse } from "node:path";
import { FakeEngine, FakeEngineOptions } from "./fake-engine.js";
import { runtimeInstall } from "./runtime-install.js";
import { runtimeSdkLibrary } from "./runtime-sdk.js";
import { isWrappedSource, uploadedModule } from "./runtime-upload.js";
import type { EntrypointRun } from "./session.js";
import { ROOT } from "./session.js";
import { tempDir } from "./temp.js";

/** The workspace's Node 24; checked against the runtime image's major (assertNodeMatchesRuntime). */
export const RUNTIME_NODE = join(ROOT, "node_modules/.bin/node");
/** tsdistconsts/consts.go DefaultNodeVersion (24.13.1), its major. */
const RUNTIME_DEFAULT_NODE_MAJOR = "24";
const TSX_CLI = join(ROOT, "node_modules/tsx/dist/cli.mjs");
const SDK_PACKAGE = join(ROOT, "dagger/node_modules/@dagger.io/dagger");
const CACHE = join(ROOT, ".tmp");
const ENTRYPOINT = "src/__dagger.entrypoint.ts";

export interface RuntimeModuleOptions {
  /** Replace the uploaded package.json and package-lock.json (e.g. an older revision's). */
  packageJson?: string;
  packageLock?: string;
}

export interface RuntimeModule {
  /** The container's module directory (/src/<source subpath> in the runtime). */
  dir: string;
  /** Whether npm ran for this layout (false: the install came from the cache). */
  installed: boolean;
}

/** Lays out the runtime container's module directory for the module at the repository root. */
export async function runtimeModule(opts: RuntimeModuleOptions = {}): Promise<RuntimeModule> {
  const upload = uploadedModule(ROOT);
  const src = (rel: string) => join(ROOT, upload.sourceSubpath, rel);
  const has = (rel: string) => upload.files.includes(rel);
  if (!has("package-lock.json") && !opts.packageLock)
    throw new Error("runtime-container: only the npm path (package-lock.json) is emulated");
  if (!has("tsconfig.json")) throw new Error("runtime-container: a module without tsconfig.json (the runtime's template) is not emulated");

  const packageJson = opts.packageJson ?? readFileSync(src("package.json"), "utf8");
  assertNodeMatchesRuntime(packageJson);
  const install = runtimeInstall(
    {
      packageJson,
      packageLock: opts.packageLock ?? readFileSync(src("package-lock.json"), "utf8"),
      npmrc: has(".npmrc") ? readFileSync(src(".npmrc"), "utf8") : undefined,
    },
    join(CACHE, "runtime-install"),
    RUNTIME_NODE,
  );
  const sdk = await runtimeSdkLibrary(SDK_PACKAGE, join(CACHE, "runtime-sdk"));

  const dir = tempDir("runtime-module-");
  assertNoNodeModulesAbove(dir);
  for (const f of ["package.json", "package-lock.json"]) cpSync(join(install.dir, f), join(dir, f));
  linkTree(join(install.dir, "node_modules"), join(dir, "node_modules"));
  // Two mounts of the same library; the second hides whatever npm may have put there.
  const library = { recursive: true, filter: (f: string) => !f.endsWith(".complete") };
  cpSync(sdk, join(dir, "sdk"), library);
  rmSync(join(dir, "node_modules/@dagger.io/dagger"), { recursive: true, force: true });
  cpSync(sdk, join(dir, "node_modules/@dagger.io/dagger"), library);
  writeFileSync(join(dir, "tsconfig.json"), rewriteTsconfig(readFileSync(src("tsconfig.json"), "utf8")));
  for (const rel of upload.files.filter(isWrappedSource)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    cpSync(src(rel), join(dir, rel));
  }
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, ENTRYPOINT), ENTRYPOINT_SOURCE);
  return { dir, installed: install.installed };
}

/** tsutils/tsconfig_updator.go UpdateTSConfigForModule: point @dagger.io/dagger at ./sdk, decorators on. */
export function rewriteTsconfig(original: string): string {
  const tsconfig = JSON.parse(original) as { compilerOptions?: Record<string, unknown> };
  const options = (tsconfig.compilerOptions ??= {});
  const paths = (options.paths ?? {}) as Record<string, string[]>;
  options.paths = { ...paths, "@dagger.io/dagger": ["./sdk/index.ts"], "@dagger.io/dagger/telemetry": ["./sdk/telemetry.ts"] };
  options.experimentalDecorators = true;
  return JSON.stringify(tsconfig, null, 2) + "\n";
}

/**
 * What tsutils/bin/__dagger.entrypoint.ts does, in this harness's words: every .ts/.mts file under
 * src/ (itself included) plus the generated client (sdk/client.gen.ts for the bundled library,
 * sdk/src/api/client.gen.ts when sdk/ is a full package), handed to the SDK's `entrypoint`.
 */
const ENTRYPOINT_SOURCE = `import { entrypoint } from "@dagger.io/dagger"
import { existsSync, readdirSync, statSync } from "node:fs"
import { extname, join } from "node:path"

const sdk = join(import.meta.dirname, "..", "sdk")
const client = existsSync(join(sdk, "package.json")) ? join(sdk, "src/api/client.gen.ts") : join(sdk, "client.gen.ts")

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path)
    return [".ts", ".mts"].includes(extname(path)) ? [path] : []
  })
}

entrypoint([client, ...sources(import.meta.dirname)])
`;

/**
 * The Node that runs the emulation must have the runtime image's major: config.go detectBaseImageRef
 * takes node:<version>-alpine for `dagger.runtime: node@<version>`, tsdistconsts DefaultNodeImageRef
 * (node:24.13.1-alpine) for plain `node`.
 */
function assertNodeMatchesRuntime(packageJson: string): void {
  const runtime = (JSON.parse(packageJson) as { dagger?: { runtime?: string } }).dagger?.runtime ?? "node";
  const [name, version = ""] = runtime.split("@");
  if (name !== "node") throw new Error(`runtime-container: dagger.runtime "${runtime}" is not the Node runtime this harness emulates`);
  const want = /^\d/.test(version) ? version.split(".")[0] : version === "" ? RUNTIME_DEFAULT_NODE_MAJOR : undefined;
  const have = spawnSync(RUNTIME_NODE, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
  if (want !== undefined && have.split(".")[0] !== want) {
    throw new Error(
      `runtime-container: the module runs on Node ${want} but ${RUNTIME_NODE} is ${have}; install Node ${want} for the tests`,
    );
  }
}

/**
 * A copy of `from` made of hard links (nothing is written to node_modules at run time), falling
 * back to copying across file systems. Hard links keep each file's real path inside `to`, so
 * Node's package lookup from there never reaches the cache's parents.
 */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [src, dst] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else {
      try {
        linkSync(src, dst);
      } catch {
        copyFileSync(src, dst);
      }
    }
  }
}

/** A node_modules in any parent of `dir` would let a missing package resolve from outside the install. */
function assertNoNodeModulesAbove(dir: string): void {
  for (let d = dirname(dir); d !== parse(d).root; d = dirname(d)) {
    if (existsSync(join(d, "node_modules")))
      throw new Error(`runtime-container: ${d}/node_modules would leak packages into the runtime emulation; set TMPDIR elsewhere`);
  }
  if (existsSync(join(parse(dir).root, "node_modules")))
    throw new Error("runtime-container: /node_modules would leak packages into the runtime emulation");
}

/** Runs the container's entrypoint once against a fresh fake engine (`opts.call` empty: registration). */
export async function runRuntimeEntrypoint(mod: RuntimeModule, opts: FakeEngineOptions & { timeoutMs?: number }): Promise<EntrypointRun> {
  const engine = await new FakeEngine(opts).start();
  try {
    const child = spawn(
      RUNTIME_NODE,
      [TSX_CLI, "--no-deprecation", "--tsconfig", join(mod.dir, "tsconfig.json"), join(mod.dir, ENTRYPOINT)],
      {
        cwd: mod.dir,
        // A clean environment: nothing of the test runner's (NODE_OPTIONS, NODE_PATH, loaders) reaches the module.
        env: {
          PATH: `${dirname(RUNTIME_NODE)}:/usr/local/bin:/usr/bin:/bin`,
          HOME: mod.dir,
          NODE_OPTIONS: "--use-openssl-ca",
          OTEL_SDK_DISABLED: "true",
          ...engine.env(),
        },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group, so a timeout also stops the Node process tsx starts.
        detached: true,
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), opts.timeoutMs ?? 240_000);
    const exitCode = await new Promise<number | null>((res) => child.on("close", res));
    clearTimeout(timer);
    return { engine, exitCode, output, ...engine.returned() };
  } finally {
    await engine.stop();
  }
}
