/**
 * Last line of defence before anything is printed: removes known secret values and the
 * shapes secrets take in Azure URLs, connection strings and headers.
 */

const PATTERNS: [RegExp, string][] = [
  [/([?&]sig=)[^&\s"']+/gi, "$1***"],
  [/((?:AccountKey|SharedAccessSignature|ClientSecret)=)[^;\s"']+/gi, "$1***"],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, "$1***"],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, "***"], // any JWT
];

export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  // Longest first, so a secret containing another is removed whole.
  const values = secrets.filter((s): s is string => typeof s === "string" && s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of values) out = out.split(s).join("***");
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  return out;
}
