/**
 * Plain data in bulk. A *plain tree* is a subgraph of ordinary objects and arrays, each
 * reached once inside it (no cycle, no sharing), nothing in it but its root reached from
 * anywhere else. Such a tree is one node of the table: JSON text written by this realm's
 * `JSON.stringify`, restored by the *target* context's own `JSON.parse`, which builds
 * every object directly in that realm (its prototypes are the target's
 * `Object.prototype` / `Array.prototype`), in native code.
 *
 * A value JSON cannot carry — a shared or builtin object (a Date, a Map, a typed array,
 * a record referenced twice), a function, -0, NaN, undefined, a bigint, a symbol — does
 * not stop the tree: its position is a *patch*, written as `null` in the JSON and as a
 * slot next to it (`[path, slot, …]`), set once every node exists. A list of records
 * that share a tag object is one JSON text and one patch per record, not a node per
 * record. What a patch cannot express stops the object that has it (it is then a
 * separate node, patched in where it sits): an accessor, a property attribute, a symbol
 * key, a hole or named key on an array, a null or foreign prototype, a Proxy.
 *
 * Why JSON rather than `v8.deserialize`: V8's deserializer creates objects in the
 * caller's realm, so restoring into a `vm` context would need a second walk re-homing
 * every prototype, which measured slower than the target's `JSON.parse` alone (see the
 * checkpoint bench).
 *
 * Never runs user code: every property is read by descriptor first, and `JSON.stringify`
 * only ever meets objects whose every property was read so (and copies this module
 * makes, with `null` where a patch goes): no accessor, no `toJSON` on the prototypes it
 * consults (user code may define `Object.prototype.toJSON`), no Proxy.
 *
 * Cost bound: at most two whole walks per tree, plus restarts that open at most
 * `RESTART_BUDGET` objects in all. An object met twice inside a walk is shared: while
 * the budget lasts, the walk stops there and starts again with it patched wherever met
 * (records sharing a tag meet it again within the first few records). Once the budget
 * is spent, a walk goes to the end collecting every object met twice, and one more walk
 * patches them all (it sees a subset of the previous walk's objects, so it meets
 * nothing twice). An object that cannot be opened is marked not plain, so no later walk
 * opens it again.
 */
import { types } from "../builtins.ts";
import { isOrdinaryObject } from "./classify.ts";
import { hasToJSON, isDefaultData, isJSONPrimitive } from "./json-safe.ts";

/** From this length on, an array of only numbers is written as doubles (see `NodeKind.numbers`). */
const NUMBERS_FROM = 64;

/**
 * Objects a tree's walks may open before stopping to restart (see the cost bound). A
 * list of records sharing a few tag objects meets each again within the first records,
 * so it restarts a few times, early, instead of walking every record twice.
 */
const RESTART_BUDGET = 4096;

/** What `walk` returns when it stops at an object met twice, to be walked again. */
const RESTART = Symbol("restart");

/** Deeper objects become patches (separate trees): `JSON.stringify` recurses. */
const MAX_DEPTH = 200;

/** What the walk needs to know about the rest of the encode. */
export interface PlainTreeContext {
  /** Whether `proto` is some realm's intrinsic `<builtin>.prototype`. */
  isIntrinsic(proto: object, builtin: "Object" | "Array"): boolean;
  /**
   * Every tree member of the encode → the node index of its tree. A walk claims what it
   * meets here (one hash insert per object, which is also how it finds an object met
   * twice) and gives back its claims when it yields no tree.
   */
  readonly claims: Map<object, number>;
  /**
   * Whether `value` (not claimed) must not be inside a tree: it has a node, or is
   * encoded by reference (an import, a host global).
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

/** A key on the way from a tree's root: an index of an array, a key of an object. */
export type TreeKey = string | number;

/** A plain tree found by `PlainTrees.treeOf`. */
export interface TreeWalk {
  /** Every object of the tree but its root, each claimed for the tree's node. */
  members: object[];
  /** What `JSON.stringify` writes: the root, or a copy of it with `null` at the patches. */
  json: object;
  /** `[path, value, path, value, …]`, flat (no object per patch: a tree may have 100,000s). */
  patches: unknown[];
  /**
   * The root's items when the root is an array of at least `NUMBERS_FROM` numbers and
   * nothing else (then `members` and `patches` are empty): written in bulk instead, as
   * doubles. Only a root: a nested array of numbers stays in its tree's JSON, since a
   * node of its own would cost a patch and a copy of every object above it.
   */
  numbers?: number[];
}

/** One object of a walk: its own values, read by descriptor, in key order. */
interface Frame {
  value: object;
  /** An object's own keys; undefined for an array (its keys are 0 … count - 1). */
  keys: string[] | undefined;
  /** The values read; becomes the JSON copy's content where a patch is below. */
  values: unknown[];
  next: number;
  depth: number;
  parent: Frame | undefined;
  /** This frame's key in its parent. */
  key: TreeKey;
  /** A patch is at or below this object: JSON must see a copy. */
  dirty: boolean;
  /** An array whose every item is a number (noted while its descriptors are read). */
  numeric: boolean;
}

/** Finds plain trees; one per encode (its verdicts hold while no user code runs). */
export class PlainTrees {
  private readonly notPlain = new WeakSet<object>();
  /** Per prototype: whether `JSON.stringify` finds no `toJSON` through it. */
  private readonly toJSONFree = new Map<object, boolean>();
  private readonly context: PlainTreeContext;
  /** Whether this realm's own prototypes are safe for the copies JSON reads. */
  private readonly copiesSafe = !hasToJSON(Object.prototype) && !hasToJSON(Array.prototype);

  constructor(context: PlainTreeContext) {
    this.context = context;
  }

  /**
   * The plain tree rooted at `root`, or undefined when `root` cannot be one. `root`
   * itself may already be taken (it is the node being built).
   */
  treeOf(root: object, index: number): TreeWalk | undefined {
    if (this.notPlain.has(root)) return undefined;
    const members: object[] = [];
    const shared = new Set<object>();
    let budget = RESTART_BUDGET;
    let tree: TreeWalk | typeof RESTART | undefined;
    for (;;) {
      const twice = new Set<object>();
      tree = this.walk(root, index, shared, twice, members, budget > 0);
      if (tree === undefined || twice.size === 0) break;
      // Shared inside the tree: patched wherever met from now on.
      budget -= members.length;
      this.release(members);
      for (const item of twice) shared.add(item);
      if (!this.copiesSafe) {
        tree = undefined;
        break;
      }
      if (tree === RESTART) continue;
      // A whole survey: the walk that follows meets nothing twice (see the cost bound).
      const again = new Set<object>();
      tree = this.walk(root, index, shared, again, members, false);
      // Cannot happen, but a tree that lost an identity would restore wrong data.
      if (again.size > 0) tree = undefined;
      break;
    }
    if (tree === undefined || tree === RESTART) {
      this.release(members);
      this.notPlain.add(root);
      return undefined;
    }
    return tree;
  }

  /** Gives back a walk's claims (it yields no tree, or walks again). */
  private release(members: object[]): void {
    const { claims } = this.context;
    for (const member of members) claims.delete(member);
    members.length = 0;
  }

  /**
   * One depth-first walk: `shared` are patched wherever met; an object met a second
   * time otherwise is added to `twice`, and then the walk stops there (`RESTART`) if
   * `restart`, else goes on (its result is then only a survey).
   */
  private walk(
    root: object,
    node: number,
    shared: ReadonlySet<object>,
    twice: Set<object>,
    members: object[],
    restart: boolean,
  ): TreeWalk | typeof RESTART | undefined {
    const { claims } = this.context;
    const first = this.open(root, 0, undefined, 0);
    if (first === undefined) return undefined;
    // Checked before any patch nulls an item: -0, NaN and ±Infinity are doubles too.
    if (first.numeric && first.values.length >= NUMBERS_FROM) {
      return { members, json: root, patches: [], numbers: first.values as number[] };
    }
    const patches: unknown[] = [];
    const patch = (frame: Frame, index: number, value: unknown) => {
      if (!this.copiesSafe) return false;
      const path: TreeKey[] = [frame.keys === undefined ? index : frame.keys[index]!];
      for (let at: Frame = frame; at.parent !== undefined; at = at.parent) path.push(at.key);
      patches.push(path.reverse(), value);
      frame.values[index] = null;
      frame.dirty = true;
      return true;
    };
    const stack: Frame[] = [first];
    let json: object = root;
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      if (frame.next === frame.values.length) {
        stack.pop();
        if (frame.dirty) {
          const copy = copyOf(frame);
          if (frame.parent === undefined) json = copy;
          else {
            frame.parent.values[frame.parent.next - 1] = copy;
            frame.parent.dirty = true;
          }
        }
        continue;
      }
      // Runs of primitives (most of an array of numbers or strings) in one tight loop.
      const { values } = frame;
      let index = frame.next;
      while (index < values.length && isJSONPrimitive(values[index])) index++;
      frame.next = index;
      if (index === values.length) continue;
      frame.next = index + 1;
      const item = values[index];
      if (typeof item !== "object" || item === null) {
        if (!patch(frame, index, item)) return undefined;
        continue;
      }
      // The root is not claimed: it has its node, so `isTaken` patches it (a cycle).
      const claim = claims.get(item);
      if (claim === node) {
        twice.add(item);
        if (restart) return RESTART;
        continue;
      }
      if (
        claim !== undefined ||
        shared.has(item) ||
        frame.depth === MAX_DEPTH ||
        this.notPlain.has(item) ||
        this.context.isTaken(item)
      ) {
        if (!patch(frame, index, item)) return undefined;
        continue;
      }
      const key = frame.keys === undefined ? index : frame.keys[index]!;
      const opened = this.open(item, frame.depth + 1, frame, key);
      if (opened === undefined) {
        this.notPlain.add(item);
        if (!patch(frame, index, item)) return undefined;
        continue;
      }
      claims.set(item, node);
      members.push(item);
      stack.push(opened);
    }
    return { members, json, patches };
  }

  /**
   * A frame over `value`'s own values, if it can be JSON: an ordinary object or a dense
   * array without named keys, of an intrinsic prototype, every property a data property
   * with the default attributes and a string key.
   */
  private open(value: object, depth: number, parent: Frame | undefined, key: TreeKey) {
    if (typeof value !== "object" || types.isProxy(value)) return undefined;
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto === null) return undefined;
    let keys: string[] | undefined;
    let count: number;
    if (Array.isArray(value)) {
      if (!this.isJSONProto(proto, "Array")) return undefined;
      count = value.length;
      if (!this.onlyIndices(value, count)) return undefined;
    } else {
      if (!this.isJSONProto(proto, "Object")) return undefined;
      // Names and symbols apart: `Reflect.ownKeys` has no fast path (measured ~10x
      // slower per small record than `Object.getOwnPropertyNames` plus the symbol check).
      keys = Object.getOwnPropertyNames(value);
      if (Object.getOwnPropertySymbols(value).length > 0) return undefined;
      if (!isOrdinaryObject(value, keys.length)) return undefined;
      count = keys.length;
    }
    const values = new Array<unknown>(count);
    let numeric = keys === undefined;
    if (keys === undefined) {
      for (let i = 0; i < count; i++) {
        const descriptor = Reflect.getOwnPropertyDescriptor(value, i);
        if (!isDefaultData(descriptor)) return undefined;
        const item = descriptor.value;
        values[i] = item;
        if (typeof item !== "number") numeric = false;
      }
    } else {
      for (let i = 0; i < count; i++) {
        const descriptor = Reflect.getOwnPropertyDescriptor(value, keys[i]!);
        if (!isDefaultData(descriptor)) return undefined;
        values[i] = descriptor.value;
      }
    }
    const frame: Frame = {
      value,
      keys,
      values,
      next: 0,
      depth,
      parent,
      key,
      dirty: false,
      numeric,
    };
    return frame;
  }

  /**
   * Whether the array's own keys are its indices and `length` alone (JSON would drop a
   * named or symbol key). Holes are not seen here: `open` reads every index, and a hole
   * has no descriptor.
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

/**
 * What JSON reads for a frame below which a patch sits: its values (patches already
 * `null`, dirty children already their copies) in this realm's array, or an object
 * with its keys in order (`__proto__` defined, not assigned, so it stays a key).
 */
function copyOf(frame: Frame): object {
  if (frame.keys === undefined) return frame.values;
  const copy: Record<string, unknown> = {};
  const { keys, values } = frame;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === "__proto__") {
      Object.defineProperty(copy, key, {
        value: values[i],
        writable: true,
        enumerable: true,
        configurable: true,
      });
    } else copy[key] = values[i];
  }
  return copy;
}
