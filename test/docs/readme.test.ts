/** README is a newcomer's path: short, status first, "use it" before "develop", every link resolves. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";

const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const docFiles = () => [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
export function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  for (const m of outsideCode.matchAll(/^#{1,6}\s+(.+)$/gm))
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    );
  return out;
}

/** Relative links of a Markdown file that do not resolve: a missing file, or a missing heading. */
export function brokenLinks(file: string, text: string, readFile: (f: string) => string | undefined): string[] {
  const broken: string[] = [];
  const outsideCode = text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  for (const m of outsideCode.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split("#") as [string, string | undefined];
    const resolved = path ? normalize(join(dirname(file), path)) : file;
    const body = readFile(resolved);
    if (body === undefined) broken.push(`${file}: ${target} (no file ${resolved})`);
    else if (anchor && resolved.endsWith(".md") && !anchors(body).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor})`);
  }
  return broken;
}

const fromRepo = (f: string) => (existsSync(join(ROOT, f)) ? (f.endsWith(".md") ? read(f) : "") : undefined);

test("the link checker finds a missing file and a missing heading, and ignores code", () => {
  const files: Record<string, string> = { "docs/a.md": "# Title\n## Two words\n", "README.md": "" };
  const get = (f: string) => files[f];
  assert.equal(brokenLinks("README.md", "[a](docs/a.md#two-words) [x](https://x.y) `[no](nope.md)`", get), []);
  assert.equal(brokenLinks("README.md", "[b](docs/b.md)", get), ["README.md: docs/b.md (no file docs/b.md)"]);
  assert.equal(brokenLinks("README.md", "[a](docs/a.md#three)", get), ["README.md: docs/a.md#three (no heading #three)"]);
  assert.equal(brokenLinks("docs/a.md", "[r](../README.md) [s](#title)", get), []);
});

test("README and docs/: every relative link resolves to a file and heading", () => {
  const broken = docFiles().flatMap((f) => brokenLinks(f, read(f), fromRepo));
  assert.equal(broken, []);
});

test("README reads as a newcomer's path: what it is, status, use it (Dagger only), then develop", () => {
  const readme = read("README.md");
  const lines = readme.split("\n");
  assert.ok(lines.length <= 200, `README is ${lines.length} lines; detail belongs in docs/`);
  const sections = [...readme.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.equal(sections, ["Status", "Use it", "Develop this repository"]);
  const section = (name: string) => readme.split(`## ${name}\n`)[1]!.split(/^## /m)[0]!;
  // Which level showed what: the real engine (with stand-ins), and what never ran.
  assert.match(section("Status"), /runs on a real Dagger engine, with stand-in images/);
  assert.match(section("Status"), /Not run\s+there: k3s/);
  const use = section("Use it");
  assert.match(use, /Dagger CLI \*\*v0\.21\.9\*\*/);
  assert.match(use, /^dagger call ci summary$/m, "the main job, on the embedded default");
  assert.not.match(use, /npm (install|test|run)/, "using the module needs Dagger only");
  const develop = section("Develop this repository");
  assert.match(develop, /^npm install-test$/m, "one line installs and runs every test");
  for (const os of ["Debian / Ubuntu", "macOS", "Windows"])
    assert.match(develop, new RegExp(`\\*\\*${os}\\*\\*`), `prerequisites for ${os}`);
  // Each step of the Azure path points at its guide.
  for (const doc of ["docs/azure-setup.md", "docs/models.md", "docs/images-and-releases.md", "docs/ci.md"])
    assert.ok(use.includes(`(${doc}`), doc);
});

test("README's engine version is dagger.json's", () => {
  const engine = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");
  assert.ok(read("README.md").includes(`DAGGER_VERSION=${engine}`));
});

test("README's builder rows name every function that reads the builder, as the builder's own description does", async () => {
  const f = (await introspectModule()).main.functions;
  const names = (text: string) =>
    Object.values(f)
      .map((fn) => fn.cliName)
      .filter((n) => !n.startsWith("with-") && new RegExp(`(?<![\\w-])${n}(?![\\w-])`).test(text))
      .sort();
  for (const builder of ["with-registry", "with-cluster"]) {
    const row = read("README.md")
      .split("\n")
      .find((l) => l.startsWith(`| \`${builder}\` |`));
    assert.ok(row, `README has a row for ${builder}`);
    const listed = [
      ...row!
        .split(" for ")
        .at(-1)!
        .matchAll(/`([a-z-]+)`/g),
    ]
      .map((m) => m[1]!)
      .sort();
    const described = names(Object.values(f).find((fn) => fn.cliName === builder)!.description);
    assert.equal(listed, described, `README's ${builder} row`);
  }
});

test("README's sample ci summary states no test count (a number that went stale: it said 89 while the suite ran 144)", () => {
  const sample = /^tests: .*$/m.exec(read("README.md"))?.[0] ?? "";
  assert.ok(sample, "the sample summary has its tests line");
  assert.not.match(sample, /\d+ passed/, sample);
});

test("engine notes say which Dagger source was read for the pinned engine, and why that one", () => {
  const engine = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");
  const head = read("docs/engine-notes.md").split("## Summary")[0]!;
  assert.match(head, `v${engine}`, "names the version the project pins");
  assert.match(head, /v0\.21\.8/, "names the source that was read");
  assert.match(head, /stamped v0\.21\.9/, "and that the engine run here is that source, stamped with the pinned version");
  assert.match(head, /not available/, "and why not v0.21.9's own source");
});

test.run();
