/** Builds namespaces by running code in a vm context, and restores them into fresh ones. */
import vm from "node:vm";
import {
  assignNamespace,
  type DecodeOptions,
  decodeNamespace,
  readNamespace,
} from "../../src/checkpoint/index.ts";

export interface Namespace {
  context: vm.Context;
  entries: Array<[string, unknown]>;
  /** Runs more code in the namespace and returns its completion value. */
  run(code: string): unknown;
}

/** Runs `code` in a new context; every global it adds is a namespace entry. */
export function namespaceOf(code: string): Namespace {
  const context = vm.createContext();
  const builtins = new Set(Object.getOwnPropertyNames(vm.runInContext("globalThis", context)));
  vm.runInContext(code, context);
  const global = vm.runInContext("globalThis", context) as Record<string, unknown>;
  // Descriptors, not `global[name]`: a getter on the global must not run.
  const entries = readNamespace(
    global,
    Object.getOwnPropertyNames(global).filter((name) => !builtins.has(name)),
  );
  return { context, entries, run: (more) => vm.runInContext(more, context) };
}

export interface Restored {
  context: vm.Context;
  values: Map<string, unknown>;
  failed: Array<{ name: string; reason: string }>;
  run(code: string): unknown;
}

/** Decodes into a brand-new context and assigns the values as its globals. */
export async function restoreInto(data: Uint8Array, options?: DecodeOptions): Promise<Restored> {
  const context = vm.createContext();
  const { values, failed } = await decodeNamespace(data, context, options);
  const global = vm.runInContext("globalThis", context) as object;
  for (const [name, value] of values) assignNamespace(global, name, value);
  return { context, values, failed, run: (code) => vm.runInContext(code, context) };
}
