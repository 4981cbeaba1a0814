/** SAS pre-checks and output redaction: pure functions guarding messages and early failures. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { redact } from "../../dagger/src/credentials/redact.js";
import { parseSasToken, sasProblem } from "../../dagger/src/credentials/sas.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const sas = (sp: string, se = "2025-06-02T00:00:00Z") => `sv=2024-11-04&sp=${sp}&se=${encodeURIComponent(se)}&sr=c&sig=abcDEF%2B123%3D`;

test("parseSasToken reads expiry and permissions, with or without '?'", () => {
  const info = parseSasToken(`?${sas("rl")}`);
  assert.is(info.permissions, "rl");
  assert.is(info.expiresOn?.toISOString(), "2025-06-02T00:00:00.000Z");
  assert.ok(info.hasSignature);
});

test("sasProblem: expiry, missing permissions per access, no signature", () => {
  assert.is(sasProblem(sas("rl"), "read", NOW), undefined);
  assert.is(sasProblem(sas("racwl"), "write", NOW), undefined);
  assert.is(sasProblem(sas("rcl"), "write", NOW), undefined, "create-only is enough to publish");
  assert.match(sasProblem(sas("rl", "2025-06-01T11:59:00Z"), "read", NOW)!, /expired at 2025-06-01T11:59:00.000Z/);
  assert.match(sasProblem(sas("r"), "read", NOW)!, /list \(l\)/);
  assert.match(sasProblem(sas("rl"), "write", NOW)!, /grants "rl" but publishing also needs write \(w\) or create \(c\)/);
  assert.match(sasProblem("sv=2024&sp=rl", "read", NOW)!, /no signature/);
  // A token bound to a stored access policy carries neither field: the server decides.
  assert.is(sasProblem("sv=2024-11-04&si=policy1&sr=c&sig=xyz", "write", NOW), undefined);
});

test("redact removes known values and secret-shaped parts", () => {
  const key = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==";
  const out = redact(
    `key ${key} url https://a.blob.core.windows.net/c?sv=1&sig=S3cr3t%2F&se=x AccountKey=${key}; ` +
      "Authorization: Bearer abc.def-ghi eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.sig",
    [key],
  );
  assert.not.ok(out.includes(key));
  assert.not.ok(out.includes("S3cr3t"));
  assert.not.ok(out.includes("abc.def-ghi"));
  assert.not.ok(out.includes("eyJhbGciOiJub25lIn0"));
  assert.match(out, /sig=\*\*\*&se=x/);
  assert.is(redact("nothing to hide", ["ab"]), "nothing to hide", "very short values are not treated as secrets");
});

test.run();
