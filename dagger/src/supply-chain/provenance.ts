/**
 * SLSA provenance v1 for a pushed image: what was built (the subject, added by `cosign attest`),
 * from which source revision, with which model and base images, by which builder. Written here as
 * the predicate only: cosign wraps it in the in-toto statement naming the image digest and signs
 * that. Verification reads the statement back and checks it names the image and the repository.
 */

/** The predicate type cosign's `--type slsaprovenance1` sets. */
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
/** What this pipeline's build is: the build steps of the module's `publish` and `ci`. */
export const BUILD_TYPE = "urn:ai-app-pipeline:build-type:dagger-publish:v1";
/** The builder when the caller names none: a `dagger call` on whatever machine ran it. */
export const DEFAULT_BUILDER_ID = "urn:ai-app-pipeline:builder:dagger-call";

export interface ProvenanceInputs {
  /** The repository URL the image was built from (the constructor's --source-url). */
  sourceUrl: string;
  /** The git commit (the constructor's --revision). */
  revision: string;
  /** The channel the push moved, if any. */
  channel?: string | undefined;
  model: { name: string; version: string; sha256: string; signer?: string | undefined };
  /** Base images by digest reference (name@sha256:...). */
  baseImages: string[];
  builderId: string;
  startedOn: string;
  finishedOn: string;
}

export interface ResourceDescriptor {
  uri?: string;
  name?: string;
  digest: Record<string, string>;
}

const DIGEST_REF = /^(.+)@sha256:([0-9a-f]{64})$/;

/** The SLSA v1 predicate (buildDefinition + runDetails) for `cosign attest --type slsaprovenance1`. */
export function provenancePredicate(p: ProvenanceInputs): Record<string, unknown> {
  const source: ResourceDescriptor = { uri: gitUri(p.sourceUrl, p.revision), digest: { gitCommit: p.revision } };
  const bases: ResourceDescriptor[] = p.baseImages.map((ref) => {
    const m = DIGEST_REF.exec(ref);
    if (!m) throw new Error(`base image ${ref} is not a digest reference (name@sha256:...): provenance names bases by digest only`);
    return { uri: `pkg:docker/${m[1]}`, name: m[1]!, digest: { sha256: m[2]! } };
  });
  const model: ResourceDescriptor = { name: `model ${p.model.name} ${p.model.version}`, digest: { sha256: p.model.sha256 } };
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        source: { uri: p.sourceUrl, revision: p.revision },
        ...(p.channel ? { channel: p.channel } : {}),
        model: { name: p.model.name, version: p.model.version, ...(p.model.signer ? { signer: p.model.signer } : {}) },
      },
      resolvedDependencies: [source, model, ...bases],
    },
    runDetails: {
      builder: { id: p.builderId },
      metadata: { startedOn: p.startedOn, finishedOn: p.finishedOn },
    },
  };
}

/** SLSA's form for a git source: git+<url>@<commit>. */
function gitUri(url: string, revision: string): string {
  return `${url.startsWith("git+") ? "" : "git+"}${url}@${revision}`;
}

/** What a verified provenance statement says, for the report. */
export interface ProvenanceFacts {
  sourceUrl: string;
  revision: string;
  builderId: string;
  model?: { name: string; version: string };
}

/** Why a provenance statement is not accepted: one line, for the refusal. */
export class ProvenanceMismatch extends Error {
  override name = "ProvenanceMismatch";
}

/**
 * Checks one in-toto statement (already signature-verified by cosign) against what the deploy
 * expects: SLSA v1, a subject with exactly `digest`, and the source repository `sourceUrl`
 * (compared without a trailing ".git" or "/"). Throws ProvenanceMismatch naming what differs.
 */
export function checkProvenance(statement: unknown, expected: { digest: string; sourceUrl: string }): ProvenanceFacts {
  const s = asRecord(statement, "the attestation is not a JSON object");
  if (s.predicateType !== SLSA_PROVENANCE_V1) {
    throw new ProvenanceMismatch(`the attestation's predicate type is ${JSON.stringify(s.predicateType)}, not ${SLSA_PROVENANCE_V1}`);
  }
  const hex = expected.digest.replace(/^sha256:/, "");
  const subjects = Array.isArray(s.subject) ? s.subject : [];
  const named = subjects.some((x) => (x as { digest?: { sha256?: unknown } } | null)?.digest?.sha256 === hex);
  if (!named) throw new ProvenanceMismatch(`the provenance is for another image (its subject does not name ${expected.digest})`);
  const predicate = asRecord(s.predicate, "the provenance has no predicate");
  const definition = asRecord(predicate.buildDefinition, "the provenance has no buildDefinition");
  const external = asRecord(definition.externalParameters, "the provenance has no externalParameters");
  const source = asRecord(external.source, "the provenance names no source repository");
  const uri = typeof source.uri === "string" ? source.uri : "";
  if (sameRepository(uri, expected.sourceUrl) === false) {
    throw new ProvenanceMismatch(`the provenance names source repository ${JSON.stringify(uri)}, not ${expected.sourceUrl}`);
  }
  const builder = asRecord(asRecord(predicate.runDetails, "the provenance has no runDetails").builder, "the provenance names no builder");
  const model = external.model as { name?: unknown; version?: unknown } | undefined;
  return {
    sourceUrl: uri,
    revision: typeof source.revision === "string" ? source.revision : "",
    builderId: typeof builder.id === "string" ? builder.id : "",
    ...(model && typeof model.name === "string" && typeof model.version === "string"
      ? { model: { name: model.name, version: model.version } }
      : {}),
  };
}

/** One repository, whatever the trailing ".git" or "/" and the scheme/host case. */
export function sameRepository(a: string, b: string): boolean {
  return normalizeRepository(a) === normalizeRepository(b) && normalizeRepository(a) !== "";
}

function normalizeRepository(url: string): string {
  const trimmed = url
    .trim()
    .replace(/\/+$/, "")
    .replace(/\.git$/, "");
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/]+)(.*)$/i.exec(trimmed);
  return m ? `${m[1]!.toLowerCase()}${m[2]!.toLowerCase()}${m[3]}` : trimmed;
}

function asRecord(v: unknown, missing: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new ProvenanceMismatch(missing);
  return v as Record<string, unknown>;
}
