/**
 * The module's layering, checked by `npm run lint:layers` (part of `npm test`): data flows one
 * way, index.ts -> pipeline/ -> capabilities -> shared helpers, and nothing forms a cycle.
 */
const CAPABILITIES = "^dagger/src/(model-store|registry|kubernetes|release|app-image)/";
const SHARED = "^dagger/src/(shared/|credentials/|images\\.ts)";

module.exports = {
  forbidden: [
    { name: "no-cycles", severity: "error", comment: "an import cycle: split the shared part out", from: {}, to: { circular: true } },
    {
      name: "nothing-imports-the-module-object",
      severity: "error",
      comment: "index.ts is the top: only the Dagger runtime loads it",
      from: { path: "^dagger/src/", pathNot: "^dagger/src/index\\.ts$" },
      to: { path: "^dagger/src/index\\.ts$" },
    },
    {
      name: "capabilities-do-not-import-the-pipeline",
      severity: "error",
      comment: "pipeline/ composes capabilities; a capability reaching up into it runs the layers backwards",
      from: { path: CAPABILITIES },
      to: { path: "^dagger/src/pipeline/" },
    },
    {
      name: "shared-helpers-stay-at-the-bottom",
      severity: "error",
      comment: "shared helpers (shared/, credentials/, images.ts) import no capability and no pipeline",
      from: { path: SHARED },
      to: { path: `${CAPABILITIES}|^dagger/src/pipeline/` },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: "^dagger/src/",
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "dagger/tsconfig.json" },
  },
};
