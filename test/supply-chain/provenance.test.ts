import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BUILD_TYPE,
  checkProvenance,
  provenancePredicate,
  ProvenanceMismatch,
  sameRepository,
  SLSA_PROVENANCE_V1,
} from "../../dagger/src/supply-chain/provenance.js";
import { provenanceOf, ImageVerificationRefused } from "../../dagger/src/supply-chain/verify.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER = `sha256:${"b".repeat(64)}`;
const REPO = "https://github.com/contoso/ai-app";
const BASE = `docker.io/library/python:3.11.11-slim-bookworm@sha256:${"c".repeat(64)}`;

const inputs = {
  sourceUrl: REPO,
  revision: "0123456789abcdef0123456789abcdef01234567",
  channel: "main",
  model: { name: "digits-classifier", version: "1.4.0", sha256: "d".repeat(64), signer: `key sha256:${"e".repeat(64)}` },
  baseImages: [BASE],
  builderId: "https://dev.azure.com/contoso/ai/_build?definitionId=7",
  startedOn: "2026-12-07T06:00:00.000Z",
  finishedOn: "2026-12-07T06:05:00.000Z",
};

/** The statement cosign attest makes of the predicate: subject = the image digest. */
const statement = (predicate: unknown, digest = DIGEST, type = SLSA_PROVENANCE_V1) => ({
  _type: "https://in-toto.io/Statement/v0.1",
  predicateType: type,
  subject: [{ name: "myacr.azurecr.io/ai-app", digest: { sha256: digest.slice(7) } }],
  predicate,
});

test("the predicate names the source, the model by sha256 and every base image by digest", () => {
  const p = provenancePredicate(inputs) as {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      resolvedDependencies: { uri?: string; name?: string; digest: Record<string, string> }[];
    };
    runDetails: { builder: { id: string }; metadata: Record<string, string> };
  };
  assert.is(p.buildDefinition.buildType, BUILD_TYPE);
  assert.equal(p.buildDefinition.externalParameters.source, { uri: REPO, revision: inputs.revision });
  assert.equal(p.buildDefinition.externalParameters.model, { name: "digits-classifier", version: "1.4.0", signer: inputs.model.signer });
  const deps = p.buildDefinition.resolvedDependencies;
  assert.equal(deps[0], { uri: `git+${REPO}@${inputs.revision}`, digest: { gitCommit: inputs.revision } });
  assert.equal(deps[1], { name: "model digits-classifier 1.4.0", digest: { sha256: "d".repeat(64) } });
  assert.equal(deps[2], {
    uri: "pkg:docker/docker.io/library/python:3.11.11-slim-bookworm",
    name: "docker.io/library/python:3.11.11-slim-bookworm",
    digest: { sha256: "c".repeat(64) },
  });
  assert.is(p.runDetails.builder.id, inputs.builderId);
  assert.equal(p.runDetails.metadata, { startedOn: inputs.startedOn, finishedOn: inputs.finishedOn });
});

test("a base image given by tag only is refused: provenance names bases by digest", () => {
  assert.throws(() => provenancePredicate({ ...inputs, baseImages: ["python:3.11"] }), /not a digest reference/);
});

test("checkProvenance accepts its own statement and reads the facts back", () => {
  const facts = checkProvenance(statement(provenancePredicate(inputs)), { digest: DIGEST, sourceUrl: `${REPO}.git/` });
  assert.equal(facts, {
    sourceUrl: REPO,
    revision: inputs.revision,
    builderId: inputs.builderId,
    model: { name: "digits-classifier", version: "1.4.0" },
  });
});

test("checkProvenance refuses another repository, another digest, another predicate type, and a missing source", () => {
  const other = provenancePredicate({ ...inputs, sourceUrl: "https://github.com/mallory/ai-app" });
  assert.throws(
    () => checkProvenance(statement(other), { digest: DIGEST, sourceUrl: REPO }),
    (e: Error) => e instanceof ProvenanceMismatch && /mallory\/ai-app.*not https:\/\/github.com\/contoso\/ai-app/.test(e.message),
  );
  assert.throws(
    () => checkProvenance(statement(provenancePredicate(inputs), OTHER), { digest: DIGEST, sourceUrl: REPO }),
    /for another image/,
  );
  assert.throws(
    () => checkProvenance(statement(provenancePredicate(inputs), DIGEST, "https://cyclonedx.org/bom"), { digest: DIGEST, sourceUrl: REPO }),
    /predicate type/,
  );
  assert.throws(
    () => checkProvenance(statement({ buildDefinition: { externalParameters: {} } }), { digest: DIGEST, sourceUrl: REPO }),
    /names no source repository/,
  );
  assert.throws(() => checkProvenance("nope", { digest: DIGEST, sourceUrl: REPO }), /not a JSON object/);
});

test("sameRepository ignores .git, trailing slashes and host case, nothing else", () => {
  assert.ok(sameRepository("https://GitHub.com/contoso/ai-app.git", "https://github.com/contoso/ai-app/"));
  assert.not.ok(sameRepository("https://github.com/contoso/ai-app", "https://github.com/contoso/ai-app-fork"));
  assert.not.ok(sameRepository("https://github.com/Contoso/ai-app", "https://github.com/contoso/ai-app"));
  assert.not.ok(sameRepository("", ""));
});

test("provenanceOf: one signed statement naming another repository refuses the image, however many name the right one", () => {
  const good = statement(provenancePredicate(inputs));
  const bad = statement(provenancePredicate({ ...inputs, sourceUrl: "https://github.com/mallory/ai-app" }));
  const image = `myacr.azurecr.io/ai-app@${DIGEST}`;
  assert.is(provenanceOf(image, [good], DIGEST, REPO).sourceUrl, REPO);
  assert.throws(
    () => provenanceOf(image, [good, bad], DIGEST, REPO),
    (e: Error) =>
      e instanceof ImageVerificationRefused &&
      e.message.startsWith(`refusing ${image}: the provenance names source repository`) &&
      !e.message.includes("\n"),
  );
  assert.throws(() => provenanceOf(image, [], DIGEST, REPO), /no SLSA v1 provenance/);
});

test.run();
