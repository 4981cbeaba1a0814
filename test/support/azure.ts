// The one copy of the Azure Blob SDK the module itself loads (dagger/node_modules), so tests
// arrange state with the same classes the code under test uses.
export * from "../../dagger/node_modules/@azure/storage-blob/dist/esm/index.js";
