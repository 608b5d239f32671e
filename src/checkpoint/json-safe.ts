/**
 * What `JSON.stringify` writes as it is, without running user code: the facts the plain-tree
 * walk (plain-trees.ts) checks before it hands a value to JSON.
 */

/** A data property as an assignment makes it: writable, enumerable, configurable. */
export function isDefaultData(
  descriptor: PropertyDescriptor | undefined,
): descriptor is PropertyDescriptor & { value: unknown } {
  return (
    descriptor !== undefined &&
    descriptor.writable === true &&
    descriptor.enumerable === true &&
    descriptor.configurable === true
  );
}

/** A string, boolean, null or a number JSON writes as itself (not -0, NaN, ±Infinity). */
export function isJSONPrimitive(item: unknown): boolean {
  switch (typeof item) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(item) && !Object.is(item, -0);
    case "object":
      return item === null;
    default:
      return false;
  }
}

/** Whether `proto` itself has a `toJSON` (data or accessor), which `JSON.stringify` would call. */
export function hasToJSON(proto: object): boolean {
  return Reflect.getOwnPropertyDescriptor(proto, "toJSON") !== undefined;
}
