/**
 * Realm-independent checks on values from another `vm` context: `instanceof` does not
 * work across contexts, so everything here relies on internal slots (`util.types`) and
 * the shape of prototype objects.
 */
import { types } from "node:util";
import { Uncapturable } from "./functions.ts";
import { hostGlobalName } from "./globals.ts";

export const BUILTIN_ERROR_NAMES = new Set([
  "Error",
  "EvalError",
  "RangeError",
  "ReferenceError",
  "SyntaxError",
  "TypeError",
  "URIError",
  "AggregateError",
  "SuppressedError",
]);

export const WELL_KNOWN_SYMBOLS: ReadonlyMap<symbol, string> = new Map(
  Object.getOwnPropertyNames(Symbol)
    .map((name) => [(Symbol as unknown as Record<string, unknown>)[name], name] as const)
    .filter((entry): entry is readonly [symbol, string] => typeof entry[0] === "symbol"),
);

/** Namespace objects that are identical in every context and travel by name. */
const GLOBAL_NAMESPACE_OBJECTS = new Set(["Math", "JSON", "Reflect", "Atomics", "Intl"]);

export function isNativeFunction(fn: unknown): boolean {
  return (
    typeof fn === "function" &&
    /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn))
  );
}

/**
 * True when `proto` is the builtin `<ctorName>.prototype` of some realm: its own
 * `constructor` is a native function of that name whose `prototype` is `proto`.
 */
export function isIntrinsicPrototype(proto: object, ctorName: string): boolean {
  const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
  return (
    typeof ctor === "function" &&
    ctor.name === ctorName &&
    (ctor as { prototype?: unknown }).prototype === proto &&
    isNativeFunction(ctor)
  );
}

/** The constructor whose `prototype` is `proto`, if `proto` is such an object. */
export function constructorOfPrototype(proto: object): ((...args: never[]) => unknown) | undefined {
  if (!Object.hasOwn(proto, "constructor")) return undefined;
  const ctor = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
  if (typeof ctor !== "function") return undefined;
  return (ctor as { prototype?: unknown }).prototype === proto ? ctor : undefined;
}

/**
 * The global name a builtin value is known by in every context (`Map`, `Math`,
 * `parseInt`), or undefined. Native functions are matched by name against the names
 * the target context is known to have.
 */
export function builtinGlobalName(
  value: object,
  contextGlobals: ReadonlySet<string>,
): string | undefined {
  const hostName = hostGlobalName(value);
  if (hostName !== undefined && contextGlobals.has(hostName)) return hostName;
  if (typeof value === "function") {
    if (!isNativeFunction(value)) return undefined;
    const name = value.name;
    return contextGlobals.has(name) ? name : undefined;
  }
  const tag = Object.getOwnPropertyDescriptor(value, Symbol.toStringTag)?.value;
  return typeof tag === "string" && GLOBAL_NAMESPACE_OBJECTS.has(tag) ? tag : undefined;
}

const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

export function typedArrayKind(value: ArrayBufferView): string {
  return typedArrayName.call(value) ?? "Uint8Array";
}

/** Throws `Uncapturable` for kinds that hold state the checkpoint cannot read or re-create. */
export function rejectOpaque(value: object): void {
  if (types.isProxy(value)) throw new Uncapturable("Proxy (its handler and target are hidden)");
  if (types.isPromise(value)) throw new Uncapturable("Promise (its pending state cannot be saved)");
  if (types.isWeakMap(value) || types.isWeakSet(value)) {
    throw new Uncapturable(`${types.isWeakMap(value) ? "WeakMap" : "WeakSet"} (not enumerable)`);
  }
  if (types.isGeneratorObject(value)) {
    throw new Uncapturable("generator object (its suspended state cannot be saved)");
  }
  if (types.isMapIterator(value) || types.isSetIterator(value)) {
    throw new Uncapturable("iterator (its position cannot be saved)");
  }
  if (types.isModuleNamespaceObject(value)) {
    throw new Uncapturable("module namespace object that the worker did not record as an import");
  }
  if (types.isExternal(value)) throw new Uncapturable("native handle");
  const tag = Object.prototype.toString.call(value);
  if (tag === "[object WeakRef]" || tag === "[object FinalizationRegistry]") {
    throw new Uncapturable(`${tag.slice(8, -1)} (refers to objects weakly)`);
  }
}

/** The primitive inside a boxed primitive, read through the builtin (not user) `valueOf`. */
export function unboxPrimitive(value: object): unknown {
  if (types.isNumberObject(value)) return Number.prototype.valueOf.call(value);
  if (types.isStringObject(value)) return String.prototype.valueOf.call(value);
  if (types.isBooleanObject(value)) return Boolean.prototype.valueOf.call(value);
  if (types.isBigIntObject(value)) return BigInt.prototype.valueOf.call(value);
  return Symbol.prototype.valueOf.call(value);
}
