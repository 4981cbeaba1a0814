/**
 * "Release marks production": after a release, promote or rollback leaves an image serving, the
 * store's alias (e.g. production) is moved to the model version inside that image, so the store
 * always says which model serves. A failed release never moved it, so it still names the model
 * that kept serving; a paused canary, an abort and a dry run leave it alone.
 */
import { checkAliasName } from "../model-store/versions.js";
import { moveAlias, storeBuilder, StoreTarget } from "../model-store/step.js";
import { ReleaseOutcomeReport } from "./release-report.js";

export interface ServingAlias {
  store: StoreTarget;
  /** The alias to move, e.g. production (checked by servingAlias). */
  alias: string;
}

/** Checks --mark-alias where it was typed: a valid alias name, and a store to write it to. */
export function servingAlias(alias: string | undefined, store: (() => StoreTarget) | undefined): ServingAlias | undefined {
  if (alias === undefined || alias === "") return undefined;
  const name = checkAliasName(alias);
  if (!store) {
    throw new Error(
      `--mark-alias ${name} moves an alias in the model store: configure it first (dagger call with-store ... with-registry ... with-cluster ... release --mark-alias ${name})`,
    );
  }
  return { store: store(), alias: name };
}

/** Whether the report leaves its image serving all traffic (what the alias should then name). */
export function leavesImageServing(r: ReleaseOutcomeReport, paused: boolean): boolean {
  return !r.dryRun && !paused && r.action !== "abort";
}

/**
 * Moves the alias to the serving image's model and says so in the report. The release itself
 * already happened: a failure here says that, and the one command that fixes the store.
 */
export async function markServingModel(
  r: ReleaseOutcomeReport,
  mark: ServingAlias | undefined,
  paused = false,
): Promise<ReleaseOutcomeReport> {
  if (!mark || !leavesImageServing(r, paused)) return r;
  if (!r.model) {
    throw new Error(
      `${r.action} of ${r.image} done (ledger: ${r.ledger}), but --mark-alias ${mark.alias} cannot move: the image carries no model labels, so the store cannot say which model serves`,
    );
  }
  const by = `ai-app-pipeline ${r.action}${r.releaseId ? ` ${r.releaseId}` : ""} of ${r.image}`;
  try {
    const moved = await moveAlias(mark.store, r.model.name, mark.alias, r.model.version, by);
    return { ...r, alias: moved || `@${mark.alias} -> ${r.model.name} ${r.model.version}` };
  } catch (e) {
    throw new Error(
      `${r.action} of ${r.image} done (ledger: ${r.ledger}), but moving @${mark.alias} to ${r.model.name} ${r.model.version} failed: ${(e as Error).message}\n${aliasFix(mark.alias, r.model, (e as Error).message, storeBuilder(mark.store))}`,
      { cause: e },
    );
  }
}

/**
 * The command that puts the store right after the alias could not move. When the model now
 * serving is yanked, set-alias alone is refused (an alias never names a yanked version): the
 * choice is then to unyank it, or to release a model that is in use.
 */
export function aliasFix(alias: string, model: { name: string; version: string }, failure: string, builder = "with-store"): string {
  const setAlias = `dagger call ${builder} ... set-alias --alias ${alias} --model-version ${model.version} --model-name ${model.name}`;
  if (!/\byanked\b/.test(failure)) return `to fix the store: ${setAlias}`;
  return (
    `the model now serving, ${model.name} ${model.version}, is yanked: release a model that is not yanked, ` +
    `or, if it is fit to serve, unyank it (dagger call ${builder} ... unyank --model-version ${model.version} --model-name ${model.name}) and then run ${setAlias}`
  );
}
