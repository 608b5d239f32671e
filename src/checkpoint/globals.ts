/**
 * The default set of names a function may read without being a closure: the globals of a
 * fresh `vm` context (ECMAScript builtins) plus this process's globals (the worker exposes
 * Node's, e.g. `console`, `setTimeout`, `Buffer`, to user code).
 */
import vm from "node:vm";

let cached: ReadonlySet<string> | undefined;

export function defaultContextGlobals(): ReadonlySet<string> {
  if (cached === undefined) {
    const fresh = vm.runInNewContext("Object.getOwnPropertyNames(globalThis)") as string[];
    cached = new Set([
      ...fresh,
      ...Object.getOwnPropertyNames(globalThis),
      "undefined",
      "globalThis",
      "arguments",
    ]);
  }
  return cached;
}

let hostGlobals: Map<unknown, string> | undefined;

/**
 * The global name of a value of *this* process's global object (`setTimeout`, `console`,
 * `process`), which the worker exposes to user code: such values travel by name.
 */
export function hostGlobalName(value: object): string | undefined {
  if (hostGlobals === undefined) {
    hostGlobals = new Map();
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
      const global =
        descriptor !== undefined && "value" in descriptor ? descriptor.value : undefined;
      if ((typeof global === "object" && global !== null) || typeof global === "function") {
        if (!hostGlobals.has(global)) hostGlobals.set(global, name);
      }
    }
  }
  return hostGlobals.get(value);
}
