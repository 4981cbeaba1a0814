// The yaml package the module itself uses (dagger/node_modules), for tests that read YAML files.
export * from "../../dagger/node_modules/yaml/dist/index.js";
