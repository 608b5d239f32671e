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
   */
  membersOf(root: object): object[] | undefined {
    if (this.notPlain.has(root)) return undefined;
    // Visited objects and their parent: the tree's members on success, the failing
    // object's ancestors on failure.
    const parents = new Map<object, object | null>([[root, null]]);
    const stack: object[] = [root];
    const depths: number[] = [0];
    while (stack.length > 0) {
      const value = stack.pop()!;
      const depth = depths.pop()!;
      const children = this.ownChildren(value);
      if (children === undefined) return this.fail(value, parents);
      for (const child of children) {
        if (depth + 1 > MAX_DEPTH || parents.has(child)) return this.fail(value, parents);
        parents.set(child, value);
        stack.push(child);
        depths.push(depth + 1);
      }
    }
    return [...parents.keys()];
  }

  private fail(at: object, parents: ReadonlyMap<object, object | null>): undefined {
    for (let v: object | null | undefined = at; v != null; v = parents.get(v)) {
      this.notPlain.add(v);
    }
    return undefined;
  }

  /** The object children of `value` if it is a plain node (leaves checked), else undefined. */
  private ownChildren(value: object): object[] | undefined {
    if (typeof value !== "object" || types.isProxy(value)) return undefined;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null) return undefined;
    const children: object[] = [];
    if (Array.isArray(value)) {
      if (!this.isJSONProto(proto, "Array")) return undefined;
      // Own keys are the indices, then `length`, then named keys: a dense array without
      // named keys has exactly length + 1 (a hole would show as a missing descriptor).
      const length = value.length;
      if (Reflect.ownKeys(value).length !== length + 1) return undefined;
      for (let i = 0; i < length; i++) {
        if (!this.plainSlot(Reflect.getOwnPropertyDescriptor(value, i), children)) return undefined;
      }
      return children;
    }
    if (!this.isJSONProto(proto, "Object")) return undefined;
    const keys = Reflect.ownKeys(value);
    for (const key of keys) {
      if (typeof key !== "string") return undefined;
      if (!this.plainSlot(Reflect.getOwnPropertyDescriptor(value, key), children)) return undefined;
    }
    // Last, as the dearest check (descriptors of any non-Proxy object run no user code):
    // records that share a child fail above, before paying for it.
    if (!isOrdinary(value) || (keys.length === 0 && isWeakHolder(value))) return undefined;
    return children;
  }

  /** A default-attribute data property holding a JSON-safe primitive or an object. */
  private plainSlot(descriptor: PropertyDescriptor | undefined, children: object[]): boolean {
    if (
      descriptor === undefined ||
      !("value" in descriptor) ||
      descriptor.writable !== true ||
      descriptor.enumerable !== true ||
      descriptor.configurable !== true
    ) {
      return false;
    }
    const item: unknown = descriptor.value;
    switch (typeof item) {
      case "string":
      case "boolean":
        return true;
      case "number":
        // JSON writes -0 as 0 and NaN/±Infinity as null.
        return Number.isFinite(item) && !Object.is(item, -0);
      case "object":
        if (item === null) return true;
        // Reached already (shared with the rest of the encode), or known not plain.
        if (this.notPlain.has(item) || this.context.isTaken(item)) return false;
        children.push(item);
        return true;
      default:
        return false;
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
 * JSON, and `JSON.stringify` would call `valueOf` on a boxed primitive.
 */
function isOrdinary(value: object): boolean {
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
    types.isExternal(value)
  );
}

/** WeakRef / FinalizationRegistry with a replaced prototype look like `{}`. */
function isWeakHolder(value: object): boolean {
  try {
    rejectWeakHolder(value);
    return false;
  } catch (error) {
    if (error instanceof Uncapturable) return true;
    throw error;
  }
}
