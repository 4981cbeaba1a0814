/**
 * The model.json fields the contract requires besides name, version and files (see
 * dagger/src/model-store/model.schema.json): what tests add to the manifests they write by hand.
 */
export const MODEL_JSON_FIELDS = {
  format: "onnx",
  labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
  input: { name: "input", shape: [null, 64], dtype: "float32" },
} as const;
