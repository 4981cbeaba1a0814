// Child process for callThroughEntrypoint: the SDK's own module entrypoint over the given files.
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { SDK_DIST } from "./session.js";

const { entrypoint } = (await import(pathToFileURL(join(SDK_DIST, "module/entrypoint/entrypoint.js")).href)) as {
  entrypoint: (files: string[]) => Promise<void>;
};
await entrypoint(process.argv.slice(2));
