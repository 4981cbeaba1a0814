// The one copy of the Dagger SDK the module itself loads (dagger/node_modules), so that tests
// share its global connection instead of loading a second instance.
export * from "../../dagger/node_modules/@dagger.io/dagger/dist/src/index.js";
