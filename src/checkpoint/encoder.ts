/**
 * Encoder: walks the namespace graph breadth-first (no recursion, so deep lists do not
 * overflow the stack) and builds the node table of `format.ts`. Each top-level name is
 * encoded as a unit: if any part of its value cannot be captured, the nodes it added are
 * rolled back and the whole name is reported uncaptured, with the path to the part.
 * Node kinds are built in `node-builders.ts`, plain trees kept in `tree-table.ts`,
 * prototypes classified in `prototypes.ts`, closure scopes in `scope-table.ts`.
 */
import { builtinGlobalName, WELL_KNOWN_SYMBOLS } from "./classify.ts";
import { type CapturedScope, scopeReader } from "./closures.ts";
import type { EncodeOptions } from "./encode.ts";
import { NodeKind, PropFlag, type Slot, SlotTag } from "./format.ts";
import { Uncapturable } from "./functions.ts";
import { hostGlobalName } from "./globals.ts";
import { NameGroups } from "./groups.ts";
import { moduleNode } from "./module-node.ts";
import { isNamespaceAccessor, type NamespaceAccessor } from "./namespace.ts";
import { buildNode, type NodeSink, numbersNode } from "./node-builders.ts";
import { link, type Path, renderPath } from "./paths.ts";
import { PlainTrees, type TreeKey } from "./plain-trees.ts";
import { Prototypes } from "./prototypes.ts";
import { ScopeTable } from "./scope-table.ts";
import { TreeTable } from "./tree-table.ts";

interface Pending {
  value: object;
  index: number;
  path: Path;
  /** Build node by node even if plain: a tree exploded because a member is shared. */
  general?: boolean;
}

/** Graph walk state for one encode: the node table, identity map, owners, rollback. */
export class Encoder implements NodeSink {
  readonly nodes: unknown[][] = [];
  /** Node index → the object (or unique symbol, or scope token) it encodes. */
  readonly objects: WeakKey[] = [];
  /** Node index → the top-level name that first reached it. */
  readonly ownerNames: string[] = [];
  /** Which names share objects (a name reaching another name's node joins its group). */
  readonly groups = new NameGroups();
  private readonly index = new Map<WeakKey, number>();
  /** Closure scopes; created on the first function with a captured scope. */
  private scopeTable: ScopeTable | undefined;
  /** Whether this encode asked the inspector anything (and must release it). */
  private usedInspector = false;
  private pending: Pending[] = [];
  /** `[ref, index]` per node index, shared by the patches that refer to it. */
  private readonly refSlots: Slot[] = [];
  private readonly trees = new TreeTable(this);
  private readonly plain: PlainTrees;
  private current = "";
  readonly isResolvable: (name: string) => boolean;
  private readonly namespaceClasses: Set<unknown>;
  private readonly prototypes: Prototypes;

  private readonly options: EncodeOptions & { contextGlobals: ReadonlySet<string> };
  /** Called for every object newly reached, to widen an incremental encode. */
  private readonly onPreviousOwner: ((value: WeakKey) => void) | undefined;

  constructor(
    allNames: ReadonlySet<string>,
    namespaceValues: Iterable<unknown>,
    options: EncodeOptions & { contextGlobals: ReadonlySet<string> },
    onPreviousOwner: ((value: WeakKey) => void) | undefined,
  ) {
    this.options = options;
    this.onPreviousOwner = onPreviousOwner;
    this.isResolvable = (name) => allNames.has(name) || options.contextGlobals.has(name);
    // A class is "of the namespace" when user code bound it to a top-level name.
    this.namespaceClasses = new Set(
      [...namespaceValues].filter(
        (value) => typeof value === "function" && options.moduleOf?.(value) === undefined,
      ),
    );
    this.prototypes = new Prototypes({
      nodeIndex: (value, path) => this.nodeIndex(value, path),
      isNamespaceClass: (fn) => this.namespaceClasses.has(fn),
      moduleOf: (value) => this.options.moduleOf?.(value),
    });
    this.plain = new PlainTrees({
      isIntrinsic: (proto, builtin) => this.isIntrinsic(proto, builtin),
      // Only objects are asked (a function is a patch anyway), so of `builtinGlobalName`
      // only the host-global lookup applies: a namespace object (`Math`) is known by its
      // own `Symbol.toStringTag`, a symbol key, which no tree member has.
      claims: this.trees.claims,
      isTaken: (value) => {
        if (this.index.has(value)) return true;
        if (this.options.moduleOf?.(value) !== undefined) return true;
        const host = hostGlobalName(value);
        return host !== undefined && this.options.contextGlobals.has(host);
      },
      namedKeysOf: (array) => {
        const reader = scopeReader();
        if ("unavailable" in reader) return undefined;
        this.usedInspector = true;
        try {
          return reader.namedKeysOf(array);
        } catch {
          return undefined; // the walk lists the keys itself
        }
      },
    });
  }

  isNamespaceClass(fn: unknown): boolean {
    return this.namespaceClasses.has(fn);
  }

  /** Encodes one top-level value; on failure restores the table to how it was. */
  encodeName(name: string, value: unknown): { slot: Slot } | { reason: string } {
    const mark = this.nodes.length;
    this.current = name;
    this.trees.startName();
    this.groups.add(name);
    try {
      const slot = isNamespaceAccessor(value)
        ? this.accessorSlot(value, name)
        : this.slot(value, name);
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        for (const item of batch) this.build(item);
      }
      return { slot };
    } catch (error) {
      if (!(error instanceof Uncapturable)) throw error;
      const where = error.path ?? name;
      for (let i = mark; i < this.objects.length; i++) this.index.delete(this.objects[i]!);
      this.trees.rollback(mark);
      this.scopeTable?.rollback(mark);
      this.nodes.length = mark;
      this.objects.length = mark;
      this.ownerNames.length = mark;
      this.refSlots.length = Math.min(this.refSlots.length, mark);
      this.pending = [];
      return { reason: where === name ? error.message : `${where}: ${error.message}` };
    }
  }

  slot(value: unknown, path: Path): Slot {
    switch (typeof value) {
      case "undefined":
        return [SlotTag.undefined];
      case "number":
        return Object.is(value, -0) ? [SlotTag.negativeZero] : value;
      case "string":
      case "boolean":
        return value;
      case "bigint":
        return [SlotTag.bigint, value.toString()];
      case "symbol":
        return this.symbolSlot(value);
    }
    if (value === null) return null;
    return [SlotTag.ref, this.nodeIndex(value as object, path)];
  }

  /** A top-level accessor: its getter and setter as functions, never called. */
  private accessorSlot(accessor: NamespaceAccessor, name: string): Slot {
    const flags =
      (accessor.enumerable ? PropFlag.enumerable : 0) |
      (accessor.configurable ? PropFlag.configurable : 0) |
      PropFlag.accessor;
    return [
      SlotTag.accessor,
      this.slot(accessor.get, link(name, { label: "<get>" })),
      this.slot(accessor.set, link(name, { label: "<set>" })),
      flags,
    ];
  }

  /** Registered and well-known symbols by key; a unique one is a node (one identity). */
  private symbolSlot(symbol: symbol): Slot {
    const key = Symbol.keyFor(symbol);
    if (key !== undefined) return [SlotTag.registeredSymbol, key];
    const wellKnown = WELL_KNOWN_SYMBOLS.get(symbol);
    if (wellKnown !== undefined) return [SlotTag.wellKnownSymbol, wellKnown];
    const known = this.index.get(symbol);
    if (known !== undefined) {
      this.groups.union(this.current, this.ownerNames[known]!);
      return [SlotTag.ref, known];
    }
    const index = this.addNode(symbol);
    this.nodes[index] = [NodeKind.symbol, symbol.description ?? null];
    return [SlotTag.ref, index];
  }

  /** Appends an empty node standing for `key`, owned by the current name. */
  private addNode(key: WeakKey): number {
    const index = this.nodes.length;
    this.index.set(key, index);
    this.objects.push(key);
    this.ownerNames.push(this.current);
    this.nodes.push([]);
    this.onPreviousOwner?.(key);
    return index;
  }

  /** The captured scopes of `fn`; none, with the reason, when the inspector is unavailable. */
  scopesOf(fn: (...args: never[]) => unknown): { chain: CapturedScope[]; unavailable?: string } {
    this.usedInspector = true;
    const reader = scopeReader();
    if ("unavailable" in reader) return { chain: [], unavailable: reader.unavailable };
    return { chain: this.scopeTable?.readAlready(fn) ?? reader.scopesOf(fn) };
  }

  /** The node of `fn`'s innermost captured scope, shared with closures of the same scope. */
  scopeNode(
    fn: (...args: never[]) => unknown,
    chain: readonly CapturedScope[],
    path: Path,
  ): number {
    const reader = scopeReader();
    if ("unavailable" in reader) throw new Uncapturable(reader.unavailable);
    this.scopeTable ??= new ScopeTable(
      {
        addNode: (token) => this.addNode(token),
        setNode: (index, node) => {
          this.nodes[index] = node;
        },
        retoken: (index, token) => {
          this.index.delete(this.objects[index]!);
          this.objects[index] = token;
          this.index.set(token, index);
        },
        reach: (index) => this.groups.union(this.current, this.ownerNames[index]!),
        slot: (value, where) => this.slot(value, where),
      },
      reader,
    );
    return this.scopeTable.nodeFor(fn, chain, path);
  }

  /** Ends the encode: lets go of what the inspector holds for it. */
  finish(): void {
    if (!this.usedInspector) return;
    const reader = scopeReader();
    if (!("unavailable" in reader)) reader.release();
  }

  nodeIndex(value: object, path: Path): number {
    const known = this.index.get(value);
    if (known !== undefined) {
      this.groups.union(this.current, this.ownerNames[known]!);
      return known;
    }
    const tree = this.trees.treeHolding(value);
    if (tree !== undefined) this.explode(tree);
    const index = this.addNode(value);
    const binding = this.options.moduleOf?.(value);
    if (binding !== undefined) {
      this.nodes[index] = moduleNode(binding);
      return index;
    }
    const global = builtinGlobalName(value, this.options.contextGlobals);
    if (global !== undefined) {
      this.nodes[index] = [NodeKind.global, global];
      return index;
    }
    this.pending.push({ value, index, path });
    return index;
  }

  private build({ value, index, path, general }: Pending): void {
    if (general !== true && typeof value === "object") {
      const walk = this.plain.treeOf(value, index);
      if (walk?.numbers !== undefined) {
        this.nodes[index] = numbersNode(walk.numbers);
        return;
      }
      if (walk !== undefined) {
        // The walk's `[path, value, …]` becomes `[path, slot, …]` in place.
        const { patches } = walk;
        const tree = {
          root: value,
          members: walk.members,
          path,
          json: walk.json,
          patches,
        };
        this.trees.add(index, tree);
        if (this.onPreviousOwner !== undefined) {
          for (const member of tree.members) this.onPreviousOwner(member);
        }
        // After `add`: a patched value is no member, but may reach one (and explode it).
        for (let k = 0; k < patches.length; k += 2) {
          const item = patches[k + 1];
          // Most patches are objects met before (records sharing a tag): no path to build,
          // and one slot per node, shared by all its patches.
          const known = typeof item === "object" ? this.index.get(item as object) : undefined;
          if (known !== undefined) {
            this.groups.union(this.current, this.ownerNames[known]!);
            patches[k + 1] = this.refSlots[known] ??= [SlotTag.ref, known];
            continue;
          }
          const keys = patches[k] as TreeKey[];
          const where = keys.reduce<Path>((at, key) => link(at, key), path);
          patches[k + 1] = this.slot(item, where);
        }
        return;
      }
    }
    try {
      this.nodes[index] = buildNode(this, value, path);
    } catch (error) {
      if (error instanceof Uncapturable) error.path ??= renderPath(path);
      throw error;
    }
  }

  /**
   * A member of the tree at `index` is reached from elsewhere: JSON cannot keep that
   * identity, so the tree's root is built node by node (its unshared parts may become
   * smaller trees), and the two names now share objects.
   */
  private explode(index: number): void {
    const tree = this.trees.explode(index);
    this.groups.union(this.current, this.ownerNames[index]!);
    this.pending.push({ value: tree.root, index, path: tree.path, general: true });
  }

  /** Writes the plain trees' JSON (see `TreeTable.write`); the last step of an encode. */
  writeTrees(): void {
    this.trees.write();
  }

  /** Each plain tree member (not its root, which is in `objects`) with its owner name. */
  treeMembers(): Iterable<[object, string]> {
    return this.trees.members();
  }

  /** See `Prototypes.slot`. */
  proto(proto: object | null, builtin: string, builtinOnly = false): Slot {
    return this.prototypes.slot(proto, builtin, builtinOnly);
  }

  isIntrinsic(proto: object, builtin: string): boolean {
    return this.prototypes.isIntrinsic(proto, builtin);
  }

  props(
    value: object,
    path: Path,
    skip?: (key: string | symbol) => boolean,
    enumerableOnly = false,
  ): unknown[] {
    const keys = Reflect.ownKeys(value);
    return this.propsOf(
      value,
      path,
      skip === undefined ? keys : keys.filter((key) => !skip(key)),
      enumerableOnly,
    );
  }

  /** Own properties `keys` of `value` as `[key, slot, flags, …]`, attributes included. */
  propsOf(
    value: object,
    path: Path,
    keys: readonly (string | symbol)[],
    enumerableOnly: boolean,
  ): unknown[] {
    const out: unknown[] = [];
    for (const key of keys) {
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key)!;
      if (enumerableOnly && descriptor.enumerable !== true) continue;
      const keySlot = typeof key === "string" ? key : this.symbolSlot(key);
      const flags =
        (descriptor.writable ? PropFlag.writable : 0) |
        (descriptor.enumerable ? PropFlag.enumerable : 0) |
        (descriptor.configurable ? PropFlag.configurable : 0);
      const where = link(path, key);
      if ("value" in descriptor) out.push(keySlot, this.slot(descriptor.value, where), flags);
      else {
        out.push(
          keySlot,
          [
            this.slot(descriptor.get, link(where, { label: "<get>" })),
            this.slot(descriptor.set, link(where, { label: "<set>" })),
          ],
          flags | PropFlag.accessor,
        );
      }
    }
    return out;
  }
}
