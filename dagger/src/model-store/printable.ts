/**
 * Text from the store (paths in a manifest, folder names) is written by whoever can write the
 * container. Printed raw, an escape sequence or a line feed in it could forge output such as a
 * green "fetched ... OK" line. Untrusted values are quoted with `shown`; everything the command
 * prints also passes `terminalSafe`, so no control character but the line feed reaches a terminal.
 */

/** Control characters (C0, DEL, C1) and invisible formatting ones (bidi overrides, zero-width). */
export const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}]/u;
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, "gu");

/** `\uXXXX` for each UTF-16 unit: readable, and still valid inside JSON strings. */
function escapeUnits(ch: string): string {
  let out = "";
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, "0")}`;
  return out;
}

/** Longer untrusted strings are cut: a message names a value, it does not reproduce a megabyte of it. */
const MAX_SHOWN = 300;

/** An untrusted value as a quoted string (JSON for other types) with every unprintable character escaped. */
export function shown(value: unknown): string {
  const long = typeof value === "string" && value.length > MAX_SHOWN;
  const json = (long ? JSON.stringify(value.slice(0, MAX_SHOWN)) : JSON.stringify(value)) ?? String(value); // undefined has no JSON form
  const text = json.length > 2 * MAX_SHOWN ? `${json.slice(0, 2 * MAX_SHOWN)}...` : json;
  return text.replace(UNPRINTABLE_ALL, escapeUnits) + (long ? `... (${(value as string).length} characters)` : "");
}

/** `text` with every unprintable character escaped except the line feeds that end lines. */
export function terminalSafe(text: string): string {
  return text.replace(UNPRINTABLE_ALL, (ch) => (ch === "\n" ? ch : escapeUnits(ch)));
}
