/**
 * The folder-level layering check (scripts/folder-cycles.ts): a loop between two capability
 * folders through different files is found (dependency-cruiser's module-level rule misses it),
 * and the module as it stands has none.
 */
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CruisedModule, describeCycles, folderCycles, folderEdges } from "../../scripts/folder-cycles.js";
import { ROOT } from "../support/session.js";

const mod = (source: string, ...deps: string[]): CruisedModule => ({ source, dependencies: deps.map((resolved) => ({ resolved })) });

test("a loop through two folders by different files is a cycle; one-way imports and loops inside a folder are not", () => {
  const looped = [
    mod("dagger/src/model-store/signing.ts", "dagger/src/build/python.ts", "dagger/src/shared/exec.ts"),
    mod("dagger/src/build/image.ts", "dagger/src/model-store/manifest.ts"),
    mod("dagger/src/build/python.ts", "dagger/src/images.ts"),
    mod("dagger/src/pipeline/ci.ts", "dagger/src/build/image.ts", "dagger/src/model-store/manifest.ts"),
    mod("dagger/src/shared/exec.ts", "node_modules/@dagger.io/dagger/dist/index.js"),
  ];
  const cycles = folderCycles(folderEdges(looped));
  assert.equal(cycles, [["build", "model-store"]]);
  assert.match(describeCycles(looped, cycles)[0]!, "dagger/src/model-store/signing.ts -> dagger/src/build/python.ts");
  const oneWay = looped.filter((m) => m.source !== "dagger/src/model-store/signing.ts");
  assert.equal(folderCycles(folderEdges(oneWay)), []);
  const inside = [mod("dagger/src/a/x.ts", "dagger/src/a/y.ts"), mod("dagger/src/a/y.ts", "dagger/src/a/x.ts")];
  assert.equal(folderCycles(folderEdges(inside)), [], "a module-level loop is dependency-cruiser's no-cycles rule's job");
  const three = [
    mod("dagger/src/a/x.ts", "dagger/src/b/x.ts"),
    mod("dagger/src/b/x.ts", "dagger/src/c/x.ts"),
    mod("dagger/src/c/x.ts", "dagger/src/a/x.ts"),
  ];
  assert.equal(folderCycles(folderEdges(three)), [["a", "b", "c"]]);
});

test("dagger/src has no cycle between folders (npm run lint:layers runs the same check)", () => {
  const r = spawnSync("tsx", ["scripts/folder-cycles.ts"], { cwd: ROOT, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, "no cycle between folders");
});

test.run();
