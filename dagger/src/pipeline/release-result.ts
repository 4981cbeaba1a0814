/**
 * What `release` (and promote, abort, rollback) returns: one field per fact for the next CI step
 * (`dagger call ... release image`), all of them at once as JSON (`release json`: a bare object
 * prints only its id, and a second call would release again), and a summary for people.
 */
import { func, object } from "@dagger.io/dagger";
import { formatOutcomeReport, ReleaseOutcomeReport } from "./release-report.js";

/** The released (or, with --dry-run, resolved) image and what became of it. Every field is set ("" when unknown). */
@object()
export class ReleaseResult {
  /** What was done: release, promote, abort or rollback. */
  @func() action = "";
  /** The image by digest, registry/repository@sha256:... . */
  @func() image = "";
  /** The channel that was resolved (e.g. main); "" for promote, abort and rollback. */
  @func() channel = "";
  /** Name of the model in the image, from its labels. */
  @func() modelName = "";
  /** Version of the model in the image. */
  @func() modelVersion = "";
  /** sha256 of the model (its model.json), from the image's labels. */
  @func() modelSha256 = "";
  /** Git revision the image was built from, from its labels. */
  @func() revision = "";
  /** rolling, canary or rollback. */
  @func() strategy = "";
  /** The attempt's id in the release ledger (and the canary's release-id label). */
  @func() releaseId = "";
  /** The deploy's outcome in one line ("not deployed (dry run)" for a dry run). */
  @func() deployed = "";
  /** The smoke test's verdict (for a canary: the analysis). */
  @func() smoke = "";
  /** Canary only: its size (stable and canary replicas, the share rounded as release --help says), each analysis round and what became of it. */
  @func() canary = "";
  /** Whether the attempt was recorded in the release ledger (the <app>-releases ConfigMap). */
  @func() ledger = "";
  /** The public URL: http://<dns-label>.<region>.cloudapp.azure.com with --dns-label and --region, else the load balancer's address; "" when none yet. */
  @func() url = "";
  /** The Service's public address, or what there is instead in words. */
  @func() address = "";
  /** --mark-alias: the model store's alias moved to the model now serving; "" when not asked. */
  @func() alias = "";
  /** with-image-policy: who signed the image and where its provenance says it was built from; "" without a policy. */
  @func() signature = "";
  /** True when nothing was changed (release --dry-run). */
  @func() dryRun = false;
  /** Dry run: what the release would change (kubectl diff --server-side), or a line saying nothing; "" otherwise. */
  @func() diff = "";
  /** All of the above for people, a few lines. */
  @func() summary = "";
  /** All of the above as one JSON object, for scripts that need several fields from one run. */
  @func() json = "";
}

/** The report as the returned object (only declared fields: the SDK refuses any other key). */
export function releaseResult(r: ReleaseOutcomeReport): ReleaseResult {
  const facts = {
    action: r.action,
    image: r.image,
    channel: r.channel,
    modelName: r.model?.name ?? "",
    modelVersion: r.model?.version ?? "",
    modelSha256: r.model?.sha256 ?? "",
    revision: r.revision ?? "",
    strategy: r.strategy,
    releaseId: r.releaseId,
    deployed: r.deployed,
    smoke: r.smoke,
    canary: r.canary,
    ledger: r.ledger,
    url: r.url,
    address: r.address,
    alias: r.alias ?? "",
    signature: r.signature ?? "",
    dryRun: r.dryRun,
    diff: r.diff ?? "",
  };
  return Object.assign(new ReleaseResult(), facts, { summary: formatOutcomeReport(r), json: JSON.stringify(facts) });
}
