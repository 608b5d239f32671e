/**
 * The encoder's table of closure scopes: one `scope` node per captured scope *instance*,
 * so that closures sharing a scope (`function pair() { let n = 0; return [inc, get] }`)
 * point at one node and share it again after restore.
 *
 * Which captured scopes are one instance is settled without calling user code: scopes
 * that differ in label, parent, variable names or any value are different; lookalikes
 * are told apart by the heap context ids of a snapshot (see `closures.ts`), which are
 * cached per function, so a snapshot is taken only when lookalikes meet for the first time.
 */
import type { CapturedScope, ScopeReader } from "./closures.ts";
import { NodeKind, type Slot } from "./format.ts";
import { Uncapturable } from "./functions.ts";
import { link, type Path } from "./paths.ts";

type Fn = (...args: never[]) => unknown;

/** What the scope table needs from the encoder. */
export interface ScopeSink {
  /** Reserves a node owned by the current name, standing for `token`; returns its index. */
  addNode(token: object): number;
  setNode(index: number, node: unknown[]): void;
  /** Makes `token` the object of an existing node (its context id became known). */
  retoken(index: number, token: object): void;
  /** The current name reaches an existing node (it joins that node's owners). */
  reach(index: number): void;
  slot(value: unknown, path: Path): Slot;
}

interface Entry {
  index: number;
  /** Parent, label, variable names and value digests: only scopes of one shape can be one. */
  shape: string;
  parent: number | null;
  values: unknown[];
  fn: Fn;
  level: number;
  contextId: string | undefined;
  scope: CapturedScope;
}

export class ScopeTable {
  private readonly byContext = new Map<string, Entry>();
  private readonly byShape = new Map<string, Entry[]>();
  private readonly entries: Entry[] = [];
  private readonly sink: ScopeSink;
  private readonly reader: ScopeReader;

  constructor(sink: ScopeSink, reader: ScopeReader) {
    this.sink = sink;
    this.reader = reader;
  }

  /**
   * The captured scopes of `fn` as this encode already read them through another closure
   * of the same contexts (no user code runs during an encode, so they are the same), or
   * undefined when they must be read. This is what keeps closures over shared scopes cheap.
   */
  readAlready(fn: Fn): CapturedScope[] | undefined {
    const ids = this.reader.knownContexts(fn);
    if (ids === undefined) return undefined;
    const chain: CapturedScope[] = [];
    for (const id of ids) {
      const entry = this.byContext.get(id);
      if (entry === undefined) return undefined;
      chain.push(entry.scope);
    }
    return chain;
  }

  /** The node index of the innermost scope of `chain` (innermost first), creating nodes. */
  nodeFor(fn: Fn, chain: readonly CapturedScope[], path: Path): number {
    let parent: number | null = null;
    for (let level = chain.length - 1; level >= 0; level--) {
      parent = this.level(fn, level, chain[level]!, parent, path);
    }
    return parent!;
  }

  private level(
    fn: Fn,
    level: number,
    scope: CapturedScope,
    parent: number | null,
    path: Path,
  ): number {
    const names = scope.variables.map(([name]) => name);
    const values = scope.variables.map(([, value]) => value);
    let contextId = this.contextOf(fn, level, false);
    const known = contextId === undefined ? undefined : this.byContext.get(contextId);
    if (known !== undefined && known.parent === parent) {
      this.sink.reach(known.index);
      return known.index;
    }
    // Label, names and (a digest of) the values: only scopes with equal keys can be one.
    const shape = `${parent}|${scope.label}|${names.join(",")}|${values.map((v) => this.digest(v)).join("|")}`;
    for (const other of this.byShape.get(shape) ?? []) {
      if (!values.every((value, i) => Object.is(value, other.values[i]))) continue;
      // A lookalike: the same scope, or a sibling instance with equal values.
      contextId ??= this.contextOf(fn, level, true);
      if (other.contextId === undefined) {
        other.contextId = this.contextOf(other.fn, other.level, true);
        this.byContext.set(other.contextId!, other);
        this.sink.retoken(other.index, this.reader.tokenFor(other.contextId!));
      }
      if (other.contextId === contextId) {
        this.sink.reach(other.index);
        return other.index;
      }
    }
    const index = this.sink.addNode(contextId === undefined ? {} : this.reader.tokenFor(contextId));
    const entry: Entry = { index, shape, parent, values, fn, level, contextId, scope };
    this.entries.push(entry);
    if (contextId !== undefined) this.byContext.set(contextId, entry);
    const lookalikes = this.byShape.get(shape);
    if (lookalikes === undefined) this.byShape.set(shape, [entry]);
    else lookalikes.push(entry);
    // Registered before its variables are encoded: a variable may hold a closure of this
    // very scope (a recursive inner function), which must find this node.
    const variables: Slot[] = [];
    for (const [name, value] of scope.variables) {
      variables.push(
        name,
        this.sink.slot(value, link(path, { label: `.<${scope.label}>.${name}` })),
      );
    }
    this.sink.setNode(index, [NodeKind.scope, parent, scope.label, variables]);
    return index;
  }

  private readonly identities = new WeakMap<WeakKey, number>();
  private nextIdentity = 0;

  /** A short text equal for equal values (objects by identity); may collide, never differs. */
  private digest(value: unknown): string {
    if ((typeof value === "object" && value !== null) || typeof value === "function") {
      return `#${this.identityOf(value)}`;
    }
    if (typeof value === "symbol") {
      return Symbol.keyFor(value) === undefined ? `#${this.identityOf(value)}` : String(value);
    }
    const text = String(value);
    return `${typeof value}:${text.length > 64 ? `${text.slice(0, 64)}…${text.length}` : text}`;
  }

  private identityOf(value: WeakKey): number {
    let id = this.identities.get(value);
    if (id === undefined) {
      id = this.nextIdentity++;
      this.identities.set(value, id);
    }
    return id;
  }

  /** The heap context id of `fn`'s scope at `level`: cached, or (with `resolve`) from a snapshot. */
  private contextOf(fn: Fn, level: number, resolve: boolean): string | undefined {
    const ids = resolve ? this.reader.resolveContexts(fn) : this.reader.knownContexts(fn);
    if (ids === undefined) return undefined;
    const id = ids[level];
    if (id === undefined) {
      throw new Uncapturable(
        "cannot tell which closures share a scope: its heap contexts do not match its scopes",
      );
    }
    return id;
  }

  /** Forgets the scopes of a name whose encode was rolled back (nodes from `mark` on). */
  rollback(mark: number): void {
    const kept = this.entries.filter((entry) => entry.index < mark);
    if (kept.length === this.entries.length) return;
    this.entries.length = 0;
    this.entries.push(...kept);
    this.byContext.clear();
    this.byShape.clear();
    for (const entry of kept) {
      if (entry.contextId !== undefined) this.byContext.set(entry.contextId, entry);
    }
    for (const entry of kept) {
      const list = this.byShape.get(entry.shape);
      if (list === undefined) this.byShape.set(entry.shape, [entry]);
      else list.push(entry);
    }
  }
}
