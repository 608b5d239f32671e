/**
 * Plain data in bulk. A *plain tree* is a subgraph of ordinary objects and arrays whose
 * leaves are JSON-safe primitives, each object reached once (no cycle, no sharing), and
 * nothing in it but its root reached from anywhere else. Such a tree is one node of the
 * table: JSON text written by this realm's `JSON.stringify`, restored by the *target*
 * context's own `JSON.parse`, which builds every object directly in that realm (its
 * prototypes are the target's `Object.prototype` / `Array.prototype`), in native code.
 *
 * Why JSON rather than `v8.deserialize`: V8's deserializer creates objects in the
 * caller's realm, so restoring into a `vm` context would need a second walk re-homing
 * every prototype, which measured slower than the target's `JSON.parse` alone (see the
 * checkpoint bench). JSON loses -0, NaN, ±Infinity, undefined, holes, sharing, named
 * properties on arrays, symbol keys, property attributes and null prototypes: a subgraph
 * with any of them is not a plain tree and takes the general node-by-node path.
 *
 * Never runs user code: every property is read by descriptor first, and a tree is only
 * accepted when `JSON.stringify` will find nothing to call — no accessor, no `toJSON` on
 * the prototypes it consults (user code may define `Object.prototype.toJSON`), no Proxy.
 *
 * Cost bound: a walk that fails marks the failing object and its ancestors as not plain,
 * so a later walk from any of them stops at once (a long list ending in a function is
 * linear, not quadratic).
 */
import { types } from "node:util";
import { rejectWeakHolder } from "./classify.ts";
import { Uncapturable } from "./functions.ts";

/** Deeper trees take the general path (it is iterative, `JSON.stringify` recurses). */
const MAX_DEPTH = 200;

/** What the walk needs to know about the rest of the encode. */
export interface PlainTreeContext {
  /** Whether `proto` is some realm's intrinsic `<builtin>.prototype`. */
  isIntrinsic(proto: object, builtin: "Object" | "Array"): boolean;
  /**
   * Whether `value` must not be inside a tree: already reached by the encode (it has a
   * node, or is in another tree), or encoded by reference (an import, a host global).
   */
  isTaken(value: object): boolean;
  /**
   * The own non-index string keys of a long array, read without listing its indices;
   * undefined when that cannot be asked (the walk then lists every key).
   */
  namedKeysOf(array: unknown[]): readonly string[] | undefined;
}

/** From this length on, an array's named keys are asked for rather than listed with its indices. */
const NAMED_KEYS_FROM = 512;

/** A walk position: the next own property of `value` to read. */
interface Frame {
  value: object;
  /** An object's own keys; undefined for an array (its keys are 0 … count - 1). */
  keys: string[] | undefined;
  count: number;
  next: number;
  depth: number;
}

/** Finds plain trees; one per encode (its verdicts hold while no user code runs). */
export class PlainTrees {
  private readonly notPlain = new WeakSet<object>();
  /** Per prototype: whether `JSON.stringify` finds no `toJSON` through it. */
  private readonly toJSONFree = new Map<object, boolean>();
  private readonly context: PlainTreeContext;

  constructor(context: PlainTreeContext) {
    this.context = context;
  }

  /**
   * The objects of the plain tree rooted at `root` (root first), or undefined when the
   * subgraph is not one. `root` itself may already be taken (it is the node being built).
   *
   * Depth first, one property at a time: a child that is shared or not plain ends the
   * walk where it is met (a list of records sharing a tag fails at the second record,
   * not after reading the whole list first).
   */
  membersOf(root: object): object[] | undefined {
    if (this.notPlain.has(root)) return undefined;
    // Visited objects and their parent: the tree's members on success, the failing
    // object's ancestors on failure.
    const parents = new Map<object, object | null>([[root, null]]);
    const first = this.open(root, 0);
    if (first === undefined) return this.fail(root, parents);
    const stack: Frame[] = [first];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next === frame.count) {
        // Last, as the dearest check (descriptors of a non-Proxy object run no user
        // code): records that share a child fail before paying for it.
        if (frame.keys !== undefined && !isOrdinaryObject(frame.value, frame.keys.length)) {
          return this.fail(frame.value, parents);
        }
        stack.pop();
        continue;
      }
      const key = frame.keys === undefined ? frame.next : frame.keys[frame.next]!;
      frame.next++;
      const child = this.childOf(Reflect.getOwnPropertyDescriptor(frame.value, key));
      if (child === null) continue;
      if (
        child === undefined ||
        frame.depth === MAX_DEPTH ||
        parents.has(child) ||
        this.notPlain.has(child) ||
        this.context.isTaken(child)
      ) {
        return this.fail(frame.value, parents);
      }
      parents.set(child, frame.value);
      const opened = this.open(child, frame.depth + 1);
      if (opened === undefined) return this.fail(child, parents);
      stack.push(opened);
    }
    return [...parents.keys()];
  }

  private fail(at: object, parents: ReadonlyMap<object, object | null>): undefined {
    for (let v: object | null | undefined = at; v != null; v = parents.get(v)) {
      this.notPlain.add(v);
    }
    return undefined;
  }

  /** A frame over `value`'s own properties, if its kind and prototype can be plain. */
  private open(value: object, depth: number): Frame | undefined {
    if (typeof value !== "object" || types.isProxy(value)) return undefined;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null) return undefined;
    if (Array.isArray(value)) {
      if (!this.isJSONProto(proto, "Array")) return undefined;
      const count = value.length;
      if (!this.onlyIndices(value, count)) return undefined;
      return { value, keys: undefined, count, next: 0, depth };
    }
    if (!this.isJSONProto(proto, "Object")) return undefined;
    const keys = Reflect.ownKeys(value);
    if (keys.some((key) => typeof key !== "string")) return undefined;
    return { value, keys: keys as string[], count: keys.length, next: 0, depth };
  }

  /**
   * Whether the array's own keys are its indices and `length` alone (JSON would drop a
   * named or symbol key). Holes are not seen here: the walk reads every index, and a
   * hole has no descriptor.
   */
  private onlyIndices(array: unknown[], count: number): boolean {
    if (count >= NAMED_KEYS_FROM) {
      const named = this.context.namedKeysOf(array);
      if (named !== undefined) {
        return (
          named.length === 1 &&
          named[0] === "length" &&
          Object.getOwnPropertySymbols(array).length === 0
        );
      }
    }
    // Own keys are the indices, then `length`, then named keys, then symbols: with no
    // hole, an array without named keys has exactly length + 1 (a hole is caught later).
    return Reflect.ownKeys(array).length === count + 1;
  }

  /**
   * For a default-attribute data property: null for a JSON-safe primitive, the object
   * it holds; undefined for anything else (an accessor, an attribute, -0, a function…).
   */
  private childOf(descriptor: PropertyDescriptor | undefined): object | null | undefined {
    if (
      descriptor === undefined ||
      !("value" in descriptor) ||
      descriptor.writable !== true ||
      descriptor.enumerable !== true ||
      descriptor.configurable !== true
    ) {
      return undefined;
    }
    const item: unknown = descriptor.value;
    switch (typeof item) {
      case "string":
      case "boolean":
        return null;
      case "number":
        // JSON writes -0 as 0 and NaN/±Infinity as null.
        return Number.isFinite(item) && !Object.is(item, -0) ? null : undefined;
      case "object":
        return item;
      default:
        return undefined;
    }
  }

  /**
   * Whether `proto` is an intrinsic prototype through which `JSON.stringify`'s lookup of
   * `toJSON` finds nothing (it would call it, or run a getter of that name).
   */
  private isJSONProto(proto: object, builtin: "Object" | "Array"): boolean {
    let free = this.toJSONFree.get(proto);
    if (free === undefined) {
      free = this.context.isIntrinsic(proto, builtin) && !hasToJSON(proto);
      if (free && builtin === "Array") {
        const parent = Object.getPrototypeOf(proto) as object | null;
        free =
          parent !== null &&
          !types.isProxy(parent) &&
          this.context.isIntrinsic(parent, "Object") &&
          !hasToJSON(parent);
      }
      this.toJSONFree.set(proto, free);
    }
    return free;
  }
}

function hasToJSON(proto: object): boolean {
  return Reflect.getOwnPropertyDescriptor(proto, "toJSON") !== undefined;
}

/**
 * Whether an object with an Object prototype is ordinary: a builtin with internal state
 * (a Date whose prototype was replaced, a Map, a boxed number) would lose that state as
 * JSON, and `JSON.stringify` would call `valueOf` on a boxed primitive. A WeakRef or
 * FinalizationRegistry with a replaced prototype looks like `{}`.
 */
function isOrdinaryObject(value: object, keyCount: number): boolean {
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
