/**
 * Names the module needs that the Dagger 0.21 TypeScript runtime's own SDK copy does not export.
 * At run time `@dagger.io/dagger` resolves to the `sdk/index.ts` the runtime writes
 * (sdk/typescript/runtime/tsutils/module/index.ts at v0.21.8), which re-exports a fixed list:
 * no `up` and no `ExecError`. Importing either from there fails the module's load.
 */

/**
 * `@up()`: marks the function that `dagger call ... up` serves. The SDK's own decorator is a
 * no-op at run time; the runtime's introspector recognises it by its name in the source
 * (`isNodeDecoratedWith`, text starting with "up"), so this one registers the same way.
 */
export function up() {
  return (_target: object, _propertyKey: string | symbol, descriptor?: PropertyDescriptor) => descriptor;
}

/** The stderr of the SDK's ExecError (a failed `withExec`), recognised by its name, not its class. */
export function execErrorStderr(e: unknown): string | undefined {
  if (!(e instanceof Error) || e.name !== "ExecError") return undefined;
  const stderr = (e as { stderr?: unknown }).stderr;
  return typeof stderr === "string" ? stderr : "";
}
