/**
 * What `ci` returns: one field per fact for the next CI step (`dagger call ... ci image`), all of
 * them at once as JSON (`ci json`, since a bare object prints only its id), and a summary for people.
 */
import { func, object } from "@dagger.io/dagger";
import { CiReport, formatCiReport } from "./report.js";

/** The outcome of one ci run. Every field is set ("" or [] when it does not apply). */
@object()
export class CiResult {
  /** "embedded" (everything inside Dagger) or "configured" (with-store / with-registry / --model). */
  @func() mode = "";
  /** pytest's summary line. */
  @func() tests = "";
  /** Name of the model built into the image. */
  @func() modelName = "";
  /** Version of the model built into the image. */
  @func() modelVersion = "";
  /** The model's digest as the image's labels record it: its one file's sha256, or the sha256 of the list of its files' sha256s. */
  @func() modelSha256 = "";
  /** Who signed the model ("key sha256:<fingerprint>") when ci --public-key verified it; "" otherwise. */
  @func() modelSigner = "";
  /** The pushed image by digest, registry/repository@sha256:...; "" when nothing was published (no with-registry). */
  @func() image = "";
  /** The tags pushed, all naming that digest: revision, model-<version> and the channel. */
  @func() tags: string[] = [];
  /** The signature and attestations on the pushed digest (with-image-signing): signer, SBOM contents, time taken; "" when not signed. */
  @func() signature = "";
  /** The vulnerability gate's verdict (--fail-on-severity); "" when the gate was off. */
  @func() vulnerabilities = "";
  /** Embedded default only: the deploy's outcome in one line. */
  @func() deployed = "";
  /** Embedded default only: the smoke test's verdict. */
  @func() smoke = "";
  /** All of the above for people, a few lines. */
  @func() summary = "";
  /** All of the above as one JSON object, for scripts that need several fields from one run. */
  @func() json = "";
}

/** The report as the returned object (only declared fields: the SDK refuses any other key). */
export function ciResult(r: CiReport): CiResult {
  const facts = {
    mode: r.mode,
    tests: r.tests,
    modelName: r.model.name,
    modelVersion: r.model.version,
    modelSha256: r.model.sha256,
    modelSigner: r.model.signer ?? "",
    image: r.image ?? "",
    tags: r.tags ?? [],
    signature: r.signature ?? "",
    vulnerabilities: r.vulnerabilities ?? "",
    deployed: r.deployed ?? "",
    smoke: r.smoke ?? "",
  };
  return Object.assign(new CiResult(), facts, { summary: formatCiReport(r), json: JSON.stringify(facts) });
}
