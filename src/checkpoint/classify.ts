/**
 * Realm-independent checks on values from another `vm` context: `instanceof` does not
 * work across contexts, so everything here relies on internal slots (`util.types`) and
 * the shape of prototype objects.
 */
import { types } from "../builtins.ts";
import { Uncapturable } from "./functions.ts";
import { hostGlobalName } from "./globals.ts";
import { functionName, ownDataValue } from "./intrinsics.ts";

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
  const ctor = ownDataValue(proto, "constructor");
  return (
    typeof ctor === "function" &&
    functionName(ctor) === ctorName &&
    ownDataValue(ctor, "prototype") === proto &&
    isNativeFunction(ctor)
  );
}

/**
 * The constructor whose `prototype` is `proto`, if `proto` is such an object. Reads data
 * properties only, and nothing of a Proxy (its traps are user code).
 */
export function constructorOfPrototype(proto: object): ((...args: never[]) => unknown) | undefined {
  const ctor = ownDataValue(proto, "constructor");
  if (typeof ctor !== "function" || types.isProxy(ctor)) return undefined;
  return ownDataValue(ctor, "prototype") === proto
    ? (ctor as (...args: never[]) => unknown)
    : undefined;
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
    const name = functionName(value);
    return contextGlobals.has(name) ? name : undefined;
  }
  const tag = ownDataValue(value, Symbol.toStringTag);
  return typeof tag === "string" && GLOBAL_NAMESPACE_OBJECTS.has(tag) ? tag : undefined;
}

const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)?.get as (this: unknown) => string | undefined;

export function typedArrayKind(value: ArrayBufferView): string {
  return typedArrayName.call(value) ?? "Uint8Array";
}

/**
 * Whether `ctor` is a class (or function) user code defined in a session context — in a
 * closure too, not only bound to a top-level name — as opposed to one of Node's (a
 * Socket, an EventEmitter) or an imported package's, which live in this process's realm
 * and hold internal state that re-evaluating their source cannot bring back. Its
 * superclass chain ends at a builtin of its realm: this realm's means it is not the session's.
 */
export function isUserRealmClass(ctor: (...args: never[]) => unknown): boolean {
  let base: unknown = ctor;
  while (typeof base === "function" && !types.isProxy(base) && !isNativeFunction(base)) {
    base = Object.getPrototypeOf(base);
  }
  if (typeof base !== "function" || types.isProxy(base) || base === ctor) return false;
  return base !== Function.prototype && hostGlobalName(base) === undefined;
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
}

/**
 * Throws `Uncapturable` for a WeakRef or FinalizationRegistry. Only for objects no other
 * kind claimed (the encoder asks just before encoding a value as a plain object): the
 * probe is a call that throws for everything else, which is not free.
 */
export function rejectWeakHolder(value: object): void {
  // Not `Object.prototype.toString`: it reads `Symbol.toStringTag`, which may be a getter.
  if (hasInternalSlot(weakRefDeref, value, [])) {
    throw new Uncapturable("WeakRef (refers to objects weakly)");
  }
  if (hasInternalSlot(registryUnregister, value, [{}])) {
    throw new Uncapturable("FinalizationRegistry (refers to objects weakly)");
  }
}

const weakRefDeref = WeakRef.prototype.deref as (this: unknown) => unknown;
const registryUnregister = FinalizationRegistry.prototype.unregister as (
  this: unknown,
  token: object,
) => unknown;

/** Whether a builtin method accepts `value` as its receiver (it checks internal slots;
 * `unregister` with a fresh token changes nothing). */
function hasInternalSlot(
  method: (this: unknown, ...args: never[]) => unknown,
  value: object,
  args: unknown[],
): boolean {
  // The expected TypeError needs no stack trace, and capturing one is most of its cost.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    Reflect.apply(method, value, args);
    return true;
  } catch {
    return false;
  } finally {
    Error.stackTraceLimit = limit;
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

/**
 * Whether an object with an Object prototype is ordinary: a builtin with internal state
 * (a Date whose prototype was replaced, a Map, a boxed number) would lose that state as
 * JSON, and `JSON.stringify` would call `valueOf` on a boxed primitive. A WeakRef or
 * FinalizationRegistry with a replaced prototype looks like `{}`.
 */
export function isOrdinaryObject(value: object, keyCount: number): boolean {
  return !(
    types.isBoxedPrimitive(value) ||
    types.isDate(value) ||
    types.isRegExp(value) ||
    types.isMap(value) ||
    types.isSet(value) ||
    types.isAnyArrayBuffer(value) ||
    types.isArrayBufferView(value) ||
    types.isNativeError(value) ||
    types.isPromise(value) ||
    types.isWeakMap(value) ||
    types.isWeakSet(value) ||
    types.isGeneratorObject(value) ||
    types.isMapIterator(value) ||
    types.isSetIterator(value) ||
    types.isModuleNamespaceObject(value) ||
    types.isArgumentsObject(value) ||
    types.isExternal(value) ||
    (keyCount === 0 && isWeakHolder(value))
  );
}

function isWeakHolder(value: object): boolean {
  try {
    rejectWeakHolder(value);
    return false;
  } catch (error) {
    if (error instanceof Uncapturable) return true;
    throw error;
  }
}
