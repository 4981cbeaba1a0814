/**
 * Offline `dagger functions`: the SDK's own introspector (the code the Dagger TypeScript
 * runtime runs to register a module) applied to dagger/src, flattened into a table.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { clientGenFile, moduleFiles, SDK_DIST } from "./session.js";
export { clientGenFile } from "./session.js";

export interface ArgInfo {
  name: string;
  cliName: string;
  description: string;
  type: string;
  optional: boolean;
  defaultValue?: string;
  defaultPath?: string;
  ignore?: string[];
}

export interface FunctionInfo {
  name: string;
  cliName: string;
  description: string;
  returnType: string;
  cache?: string;
  isCheck: boolean;
  isUp: boolean;
  args: Record<string, ArgInfo>;
}

export interface ObjectInfo {
  name: string;
  description: string;
  constructorArgs: Record<string, ArgInfo>;
  functions: Record<string, FunctionInfo>;
}

export interface ModuleInfo {
  name: string;
  description: string;
  objects: Record<string, ObjectInfo>;
  /** The main object (named after the module). */
  main: ObjectInfo;
}

/**
 * camelCase -> kebab-case, as the Dagger CLI shows names (strcase's ToKebab): a dash before each
 * word and each run of digits, so `modelSha256` is `model-sha-256` (seen on the real engine).
 */
export function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .replace(/([A-Za-z])([0-9])/g, "$1-$2")
    .replace(/([0-9])([A-Za-z])/g, "$1-$2")
    .toLowerCase();
}

interface RawType {
  kind: string;
  name?: string;
  typeDef?: RawType;
}
interface RawArg {
  name: string;
  description: string;
  type?: RawType;
  isNullable: boolean;
  isOptional: boolean;
  defaultValue?: unknown;
  defaultPath?: string;
  ignore?: string[];
}
interface RawFunction {
  name: string;
  alias?: string;
  description: string;
  cache?: string;
  isCheck: boolean;
  isUp: boolean;
  arguments: Record<string, RawArg>;
  returnType?: RawType;
}
interface RawProperty {
  name: string;
  alias?: string;
  description: string;
  type?: RawType;
  isExposed: boolean;
}
interface RawObject {
  name: string;
  description: string;
  _constructor?: RawFunction;
  methods: Record<string, RawFunction>;
  properties?: Record<string, RawProperty>;
}
interface RawModule {
  name: string;
  description: string;
  objects: Record<string, RawObject>;
}

function typeName(t?: RawType): string {
  if (!t) return "?";
  if (t.kind === "LIST_KIND") return `[${typeName(t.typeDef)}]`;
  return t.name ?? t.kind.replace(/_KIND$/, "").toLowerCase();
}

function args(raw: Record<string, RawArg>): Record<string, ArgInfo> {
  return Object.fromEntries(
    Object.values(raw).map((a) => [
      a.name,
      {
        name: a.name,
        cliName: kebab(a.name),
        description: a.description,
        type: typeName(a.type),
        optional: a.isOptional || a.isNullable || a.defaultValue !== undefined || a.defaultPath !== undefined,
        ...(a.defaultValue !== undefined ? { defaultValue: String(a.defaultValue) } : {}),
        ...(a.defaultPath !== undefined ? { defaultPath: a.defaultPath } : {}),
        ...(a.ignore ? { ignore: a.ignore } : {}),
      },
    ]),
  );
}

let cached: Promise<ModuleInfo> | undefined;

/** Scans the module once per process (about a second) and returns the table. */
export function introspectModule(moduleName = "ai-app-pipeline"): Promise<ModuleInfo> {
  cached ??= (async () => {
    const { scan } = (await import(pathToFileURL(join(SDK_DIST, "module/introspector/index.js")).href)) as {
      scan: (files: string[], name: string, strict?: boolean) => Promise<RawModule>;
    };
    const raw = await scan([...moduleFiles(), clientGenFile()], moduleName, false);
    const objects: Record<string, ObjectInfo> = {};
    for (const o of Object.values(raw.objects)) {
      objects[o.name] = {
        name: o.name,
        description: o.description,
        constructorArgs: args(o._constructor?.arguments ?? {}),
        functions: Object.fromEntries(
          Object.values(o.methods).map((f) => {
            const name = f.alias ?? f.name;
            return [
              name,
              {
                name,
                cliName: kebab(name),
                description: f.description,
                returnType: typeName(f.returnType),
                ...(f.cache ? { cache: f.cache } : {}),
                isCheck: f.isCheck,
                isUp: f.isUp,
                args: args(f.arguments),
              },
            ];
          }),
        ),
      };
      // Exposed properties (@func() on a field) are functions without arguments to the CLI: `dagger call ci image`.
      for (const p of Object.values(o.properties ?? {}).filter((p) => p.isExposed)) {
        const name = p.alias ?? p.name;
        objects[o.name]!.functions[name] = {
          name,
          cliName: kebab(name),
          description: p.description,
          returnType: typeName(p.type),
          isCheck: false,
          isUp: false,
          args: {},
        };
      }
    }
    const main = objects[raw.name];
    if (!main) throw new Error(`introspection: no main object ${raw.name}`);
    return { name: raw.name, description: raw.description, objects, main };
  })();
  return cached;
}
