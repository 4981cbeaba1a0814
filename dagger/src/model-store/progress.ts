/**
 * Progress of long uploads and downloads for people watching: one line per file at most every
 * `intervalMs`, and always a last line when the file is done. Lines (not a redrawn `\r` status)
 * so CI logs read the same as a terminal; the CLI sends them to stderr, never to stdout.
 */
import { shown, UNPRINTABLE } from "./printable.js";
import { humanBytes } from "./sizes.js";

export interface FileProgress {
  /** `n` more bytes moved (downloads count chunks). */
  add(n: number): void;
  /** `bytes` moved so far in all (the SDK's upload progress reports positions). */
  at(bytes: number): void;
  /** The file is complete: writes its last line (once). */
  done(): void;
}

/** Starts tracking one file: `verb` says which way ("upload", "download"). */
export type ProgressReporter = (verb: string, path: string, totalBytes: number) => FileProgress;

export interface ProgressTuning {
  clock?: () => number;
  intervalMs?: number;
}

const QUIET: FileProgress = { add: () => {}, at: () => {}, done: () => {} };

/** Reports nothing: for callers that did not ask for progress. */
export const noProgress: ProgressReporter = () => QUIET;

export function progressReporter(write: (line: string) => void, tuning: ProgressTuning = {}): ProgressReporter {
  const clock = tuning.clock ?? Date.now;
  const interval = tuning.intervalMs ?? 500;
  return (verb, path, total) => {
    const name = UNPRINTABLE.test(path) ? shown(path) : path;
    const started = clock();
    let last = started;
    let bytes = 0;
    let printed = -1;
    let finished = false;
    const line = (now: number) => {
      printed = bytes;
      const seconds = (now - started) / 1000;
      const rate = seconds > 0 ? Math.round(bytes / seconds) : 0;
      const pct = total > 0 ? Math.floor((bytes / total) * 100) : 100;
      write(`${verb} ${name} ${humanBytes(bytes)}/${humanBytes(total)} ${String(pct).padStart(3)}%  ${humanBytes(rate)}/s`);
    };
    const moved = () => {
      const now = clock();
      if (now - last < interval) return;
      last = now;
      line(now);
    };
    return {
      add: (n) => {
        bytes += n;
        moved();
      },
      at: (b) => {
        bytes = b;
        moved();
      },
      done: () => {
        if (finished) return;
        finished = true;
        bytes = total;
        if (printed !== total) line(clock()); // the last throttled line may already say 100%
      },
    };
  };
}
