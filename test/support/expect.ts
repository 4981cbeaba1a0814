/** Small assertions uvu lacks. */
import * as assert from "uvu/assert";

/** Awaits `p`, asserts it rejects with a message matching `pattern`, returns the error. */
export async function rejectsWith(p: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    assert.match(message, pattern);
    return e as Error;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
  throw new Error("unreachable");
}
