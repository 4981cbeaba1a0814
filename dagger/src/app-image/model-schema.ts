/** The app's own Python inputs: model.json's schema where the app and the trainer read it. */
import { dag, File } from "@dagger.io/dagger";
import { SCHEMA_FILE_NAME } from "../model-store/schema.js";

/**
 * model.json's JSON Schema, from this module's own source: the app and the trainer check models
 * by the rules this module's model store applies. app/scoring/contract.py reads it from beside
 * itself (APP_SCHEMA_PATH inside app/), where every Python step puts it.
 */
export function modelSchema(): File {
  return dag.currentModule().source().file(`src/model-store/${SCHEMA_FILE_NAME}`);
}

export const APP_SCHEMA_PATH = `scoring/${SCHEMA_FILE_NAME}`;
