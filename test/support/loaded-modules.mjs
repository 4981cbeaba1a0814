// Preloaded with node --import: records the URL of every module the process resolves and, at
// exit, writes them one per line to $LOADED_MODULES_FILE (what a command really loaded).
import { writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import process from "node:process";

const seen = [];
registerHooks({
  resolve(specifier, context, next) {
    const resolved = next(specifier, context);
    seen.push(resolved.url);
    return resolved;
  },
});
process.on("exit", () => {
  if (process.env.LOADED_MODULES_FILE) writeFileSync(process.env.LOADED_MODULES_FILE, seen.join("\n") + "\n");
});
