/**
 * What aliases and yank marks need of the store. ModelStore (store.ts) has all of it; naming it
 * apart lets store.ts build "@alias" and "latest skips yanked" on aliases.ts and yank.ts without
 * an import cycle.
 */
import type { StoreBackend } from "./backend.js";
import type { Hints } from "./hints.js";
import type { BlobEntry, VersionSelector } from "./versions.js";

export interface RecordStore {
  readonly backend: StoreBackend;
  readonly containerName: string;
  /** `container "models"` or `bucket "models"`, for messages. */
  readonly place: string;
  readonly log: (line: string) => void;
  /** How messages name the commands to run (the CLI's words when absent). */
  readonly hints?: Hints;
  call<T>(action: string, fn: () => Promise<T>): Promise<T>;
  listBlobs(prefix: string): Promise<BlobEntry[]>;
  /** The complete version a selector picks, with its yank when it has one. */
  resolve(name: string, selector: VersionSelector): Promise<{ version: string; yanked?: { reason: string; by: string } }>;
}
