/**
 * A cell's result as the host receives it: the value itself when it is plain data that
 * MessagePack carries faithfully, and always a readable rendering like a REPL prints.
 */
import util from "node:util";

export interface RenderedResult {
  has_value: boolean;
  value?: unknown;
  display: string;
}

const MAX_PLAIN_NODES = 100_000;

export function renderResult(value: unknown): RenderedResult {
  const display = util.inspect(value, {
    depth: 4,
    maxArrayLength: 100,
    maxStringLength: 10_000,
    breakLength: 100,
  });
  return isPlainData(value) ? { has_value: true, value, display } : { has_value: false, display };
}

/**
 * Plain data: what decodes on the host to an equal value. Cross-realm safe (values made in
 * the session's vm context have that context's prototypes), so prototypes are compared
 * by shape rather than identity.
 */
function isPlainData(root: unknown): boolean {
  let budget = MAX_PLAIN_NODES;
  const seen = new Set<object>();
  // MessagePack turns a nested `undefined` into null: such a value is not carried faithfully.
  const visit = (value: unknown, root = false): boolean => {
    if (--budget < 0) return false;
    if (value === null || (value === undefined && root)) return true;
    switch (typeof value) {
      case "string":
      case "boolean":
        return true;
      case "number":
        return true;
      case "object":
        break;
      default:
        return false;
    }
    const object = value as object;
    if (seen.has(object)) return false; // cycles and shared references are not plain data
    seen.add(object);
    if (util.types.isDate(object)) return true;
    if (object instanceof Uint8Array || util.types.isUint8Array(object)) return true;
    if (Array.isArray(object)) return object.every((item) => visit(item));
    const proto = Object.getPrototypeOf(object);
    if (proto !== null && Object.getPrototypeOf(proto) !== null) return false;
    if (proto !== null && proto.constructor?.name !== "Object") return false;
    if (Object.getOwnPropertySymbols(object).length > 0) return false;
    return Object.values(object).every((item) => visit(item));
  };
  return visit(root, true);
}
