import { statfsSync } from "node:fs";
import { CACHE_FREE_RESERVE } from "../../dagger/src/model-store/fetch.js";

/**
 * Fails a test that needs the fetch cache written with the reason, when the disk holding `dir`
 * is already below the cache's free-space reserve (the fetch then caches nothing, by design).
 */
export function requireCacheRoom(dir: string): void {
  const fs = statfsSync(dir);
  const free = fs.bavail / fs.blocks;
  if (free < CACHE_FREE_RESERVE + 0.01) {
    throw new Error(
      `the disk holding ${dir} has ${(free * 100).toFixed(1)}% free, under the fetch cache's ${CACHE_FREE_RESERVE * 100}% reserve (plus 1% for this test): the cache is not written, so this test cannot pass; free some space first (old engine harness caches: .ci/engine/up --prune)`,
    );
  }
}
