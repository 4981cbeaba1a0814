/**
 * The bin (scripts/ai-app-models.mjs) answers --help at once: from text written when the CLI was
 * last compiled, without loading the store's packages (seen by a module-resolution hook).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { COMMANDS, commandUsage, USAGE } from "../../dagger/src/model-store/cli-args.js";
import { runBin } from "../support/model-cli.js";

const ROOT = resolve(import.meta.dirname, "../..");

test("--help (the bin) prints what parseCli says, and loads nothing from the store's packages", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cli-help-"));
  try {
    const loaded = join(dir, "loaded.txt");
    const hook = join(ROOT, "test/support/loaded-modules.mjs");
    const env = { NODE_OPTIONS: `--import=${hook}`, LOADED_MODULES_FILE: loaded };
    // The first call after a source change compiles the CLI (esbuild); the ones after it answer from what that wrote.
    const first = await runBin(["--help"]);
    assert.is(first.code, 0, first.stderr);
    const pages: [string[], string][] = [
      [[], USAGE],
      [["--help"], USAGE],
      [["help"], USAGE],
      [["fetch", "-h"], commandUsage("fetch")],
    ];
    for (const cmd of COMMANDS) pages.push([[cmd, "--help"], commandUsage(cmd)]);
    for (const [argv, text] of pages) {
      const r = await runBin(argv, env);
      assert.is(r.code, 0, r.stderr);
      assert.is(r.stdout, text, argv.join(" "));
      const packages = readFileSync(loaded, "utf8")
        .split("\n")
        .filter((u) => u.includes("/node_modules/") && !u.includes("/node_modules/.cache/"));
      assert.equal(packages, [], `${argv.join(" ")} loaded packages`);
    }
    // The hook sees what a real command loads (so an empty list above means something).
    const listed = await runBin(["list", "--account-url", "http://127.0.0.1:9/devstoreaccount1"], env);
    assert.is(listed.code, 1, listed.stderr);
    assert.ok(readFileSync(loaded, "utf8").includes("/node_modules/@azure/"), "list loads the Azure SDK");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
