/**
 * What may cross the wire as a capability's arguments or result: MessagePack data.
 * That is `null`, booleans, finite or not numbers, strings, `Uint8Array`s, `Date`s,
 * arrays and plain objects of those (own enumerable data properties, no cycles).
 * A function, a class instance, a Map, a symbol or a getter is refused with the path
 * of the offending value, so the caller can say exactly which argument was wrong.
 *
 * Both sides use it: the worker before it sends a call (the cell gets the error, not the
 * host), the host before it sends a result (a host function returning a class instance is
 * the host author's bug, reported to the cell as such). Values may come from another
 * realm (a cell's `vm` context), so nothing here relies on `instanceof`.
 */

/** Why `value` is not plain data, with a path like `args[1].to`; undefined when it is. */
export function plainDataProblem(value: unknown, path: string): string | undefined {
  return problemIn(value, path, new Set());
}

function problemIn(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
    case "undefined":
      return undefined;
    case "bigint":
      return `${path} is a BigInt; pass it as a string`;
    case "function":
      return `${path} is a function; only data can be passed`;
    case "symbol":
      return `${path} is a symbol; only data can be passed`;
  }
  if (value === null) return undefined;
  const object = value as object;
  const tag = Object.prototype.toString.call(object);
  if (tag === "[object Uint8Array]" || tag === "[object Date]") return undefined;
  if (seen.has(object)) return `${path} refers back to itself (a cycle)`;
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      for (let index = 0; index < object.length; index++) {
        const problem = problemIn(object[index], `${path}[${index}]`, seen);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    if (!isPlainObject(object)) {
      return `${path} is an instance of ${constructorName(object)}; only plain objects, arrays and primitives can be passed`;
    }
    for (const key of Reflect.ownKeys(object)) {
      if (typeof key === "symbol") return `${path} has a symbol key`;
      const descriptor = Object.getOwnPropertyDescriptor(object, key);
      if (descriptor === undefined || !descriptor.enumerable) continue;
      if (!("value" in descriptor)) return `${path}.${key} is a getter; only data can be passed`;
      const problem = problemIn(descriptor.value, `${path}.${key}`, seen);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    seen.delete(object);
  }
}

/** An object literal (or `Object.create(null)`) of any realm. */
function isPlainObject(object: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype === null) return true;
  return (
    Object.getPrototypeOf(prototype) === null &&
    Object.prototype.toString.call(object) === "[object Object]" &&
    constructorName(object) === "Object"
  );
}

function constructorName(object: object): string {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype === null || typeof prototype !== "object") return "Object";
  const descriptor = Object.getOwnPropertyDescriptor(prototype, "constructor");
  const ctor: unknown =
    descriptor !== undefined && "value" in descriptor ? descriptor.value : undefined;
  return typeof ctor === "function" && ctor.name !== "" ? ctor.name : "an unnamed class";
}
