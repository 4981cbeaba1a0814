/**
 * Early, offline checks of a SAS token's expiry and permissions, so an expired or read-only
 * token fails with a precise message before any request. The server stays the authority:
 * tokens bound to a stored access policy carry neither field and pass through unchecked.
 */

export type StoreAccess = "read" | "write";

/** Permission letters each kind of access needs (any one letter of each group). */
const NEEDS: Record<StoreAccess, { letters: string; why: string }[]> = {
  read: [
    { letters: "r", why: "read (r) to download" },
    { letters: "l", why: "list (l) to find versions" },
  ],
  write: [
    { letters: "r", why: "read (r) to check what exists" },
    { letters: "l", why: "list (l) to find versions" },
    { letters: "wc", why: "write (w) or create (c) to upload" },
  ],
};

export interface SasInfo {
  expiresOn?: Date;
  permissions?: string;
  hasSignature: boolean;
}

/** Reads the non-secret fields of a SAS token (with or without its leading `?`). */
export function parseSasToken(token: string): SasInfo {
  const params = new URLSearchParams(token.trim().replace(/^\?/, ""));
  const se = params.get("se");
  const sp = params.get("sp");
  const expiresOn = se ? new Date(se) : undefined;
  return {
    ...(expiresOn && !Number.isNaN(expiresOn.getTime()) ? { expiresOn } : {}),
    ...(sp ? { permissions: sp } : {}),
    hasSignature: params.has("sig"),
  };
}

/** What makes the token unusable for `access` at `now`, or undefined when it looks fine. */
export function sasProblem(token: string, access: StoreAccess, now = new Date()): string | undefined {
  const info = parseSasToken(token);
  if (!info.hasSignature) {
    return "the SAS token has no signature (sig=...): pass the token part of a SAS URL, e.g. sv=...&sp=rl&se=...&sig=...";
  }
  if (info.expiresOn && info.expiresOn.getTime() <= now.getTime()) {
    return `the SAS token expired at ${info.expiresOn.toISOString()}; generate a new one`;
  }
  if (info.permissions !== undefined) {
    const granted = info.permissions;
    const lacking = NEEDS[access].filter((n) => ![...n.letters].some((l) => granted.includes(l)));
    if (lacking.length > 0) {
      const verb = access === "write" ? "publishing" : "fetching";
      return `the SAS token grants "${granted}" but ${verb} also needs ${lacking.map((n) => n.why).join(", ")}`;
    }
  }
  return undefined;
}
