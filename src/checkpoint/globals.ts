/**
 * The default set of names a function may read without being a closure: the globals of a
 * fresh `vm` context (ECMAScript builtins) plus this process's globals (the worker exposes
 * Node's, e.g. `console`, `setTimeout`, `Buffer`, to user code).
 */
import vm from "node:vm";
import { types } from "../builtins.ts";

let cached: ReadonlySet<string> | undefined;
let ecmaScript: ReadonlySet<string> | undefined;

/** The globals every realm has (ECMAScript's, and V8's), read from a fresh context. */
function ecmaScriptGlobals(): ReadonlySet<string> {
  ecmaScript ??= new Set(vm.runInNewContext("Object.getOwnPropertyNames(globalThis)") as string[]);
  return ecmaScript;
}

/**
 * Whether Node may create this global of the process only when it is first read: its web
 * classes (`FormData`, `Headers`, `TransformStream`, `Crypto`…) are lazy data properties,
 * and reading even their descriptor loads their module (`FormData` loads undici and http2,
 * ~40 ms and several MiB). Those are all capitalised classes that are not ECMAScript's,
 * so that is the test; reading such a name is left to whoever needs its value. A caller
 * that holds a fresh context's own names passes them as `ecmaScript` (listing them takes
 * a new context, ~2 ms).
 */
export function isLazyHostGlobal(
  name: string,
  ecmaScript: ReadonlySet<string> = ecmaScriptGlobals(),
): boolean {
  const first = name.charCodeAt(0);
  return first >= 65 && first <= 90 && !ecmaScript.has(name);
}

export function defaultContextGlobals(): ReadonlySet<string> {
  if (cached === undefined) {
    cached = new Set([
      ...ecmaScriptGlobals(),
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
 * `process`), which the worker exposes to user code: such values travel by name. A lazy
 * global (`isLazyHostGlobal`) is a class whose own `name` is its global name, so it is
 * looked up by that name, and only when a function carries it: listing every global's
 * value would create them all.
 */
export function hostGlobalName(value: object): string | undefined {
  // Not a Proxy: its descriptor trap would be user code run by a checkpoint.
  if (typeof value === "function" && !types.isProxy(value)) {
    const name = Object.getOwnPropertyDescriptor(value, "name")?.value;
    if (typeof name === "string" && isLazyHostGlobal(name) && Object.hasOwn(globalThis, name)) {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
      if (descriptor !== undefined && "value" in descriptor && descriptor.value === value) {
        return name;
      }
    }
  }
  if (hostGlobals === undefined) {
    hostGlobals = new Map();
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      if (isLazyHostGlobal(name)) continue;
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
