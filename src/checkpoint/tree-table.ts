/**
 * The encoder's plain trees (see `plain-trees.ts`): which node each tree is, which tree
 * each member belongs to, and the bookkeeping that keeps them right when a member turns
 * out to be shared (the tree is *exploded* and built node by node) or a name is rolled
 * back. The JSON is written only when the whole encode is done.
 */
import { CheckpointError } from "../errors.ts";
import { NodeKind } from "./format.ts";
import type { Path } from "./paths.ts";

/** A plain tree encoded as one node; its JSON is written when the encode ends. */
export interface PlainTree {
  root: object;
  /** Every object of the tree but the root (which has the node's index). */
  members: object[];
  path: Path;
  /** What `JSON.stringify` writes: the root, or its copy with `null` at the patches. */
  json: object;
  /** `[path, slot, …]`: the values JSON cannot carry, set where the copy has `null`. */
  patches: unknown[];
}

/** What the table reads and writes of the encoder's node table. */
export interface TreeNodes {
  readonly nodes: unknown[][];
  readonly ownerNames: readonly string[];
}

export class TreeTable {
  /** Plain trees by node index, and the tree each non-root member belongs to. */
  private readonly trees = new Map<number, PlainTree>();
  /** Claimed by `PlainTrees` as it walks (see `PlainTreeContext.claims`). */
  readonly claims = new Map<object, number>();
  /** Trees of earlier names exploded while encoding the current one (undone on rollback). */
  private exploded: Array<[number, PlainTree]> = [];
  private readonly table: TreeNodes;

  constructor(table: TreeNodes) {
    this.table = table;
  }

  /** The node index of the tree `value` is a member of. */
  treeHolding(value: object): number | undefined {
    return this.claims.get(value);
  }

  /** A new top-level name starts: explosions from here on are its own. */
  startName(): void {
    this.exploded = [];
  }

  /** A tree whose members the walk has already claimed for `index`. */
  add(index: number, tree: PlainTree): void {
    this.trees.set(index, tree);
    // The JSON is written at the end: the tree may yet be exploded.
    this.table.nodes[index] = [NodeKind.plain, null];
  }

  /**
   * A member of the tree at `index` is reached from elsewhere: JSON cannot keep that
   * identity, so the caller builds the tree's root (returned) node by node again.
   */
  explode(index: number): PlainTree {
    const tree = this.trees.get(index)!;
    this.trees.delete(index);
    for (const member of tree.members) this.claims.delete(member);
    this.exploded.push([index, tree]);
    this.table.nodes[index] = [];
    return tree;
  }

  /** Undoes the current name's trees and explosions (its nodes from `mark` are dropped). */
  rollback(mark: number): void {
    for (const [index, tree] of this.trees) {
      if (index < mark) continue;
      this.trees.delete(index);
      for (const member of tree.members) this.claims.delete(member);
    }
    for (const [index, tree] of this.exploded) {
      if (index >= mark) continue;
      this.trees.set(index, tree);
      this.table.nodes[index] = [NodeKind.plain, null];
      for (const member of tree.members) this.claims.set(member, index);
    }
    this.exploded = [];
  }

  /**
   * Writes every plain tree's JSON. Called once all names are encoded, with no user code
   * run since the trees were checked, so `JSON.stringify` reads exactly what was checked.
   */
  write(): void {
    for (const [index, tree] of this.trees) {
      // UTF-8 bytes (a MessagePack `bin`): encoded natively, not character by character
      // as MessagePack would a string. `JSON.stringify` escapes lone surrogates, so the
      // bytes are always valid UTF-8 and decode to the same text.
      let json: string;
      try {
        json = JSON.stringify(tree.json);
      } catch (error) {
        // Only a RangeError can come out (the tree was checked): longer than a string can be.
        if (!(error instanceof RangeError)) throw error;
        throw new CheckpointError(
          "CHECKPOINT_TOO_LARGE",
          `the data of "${this.table.ownerNames[index]}" is too large to write (${error.message})`,
          { cause: error },
        );
      }
      const bytes = Buffer.from(json, "utf8");
      const node: unknown[] = [
        NodeKind.plain,
        new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      ];
      if (tree.patches.length > 0) node.push(tree.patches);
      this.table.nodes[index] = node;
    }
  }

  /** Each tree member (not its root, which is in the encoder's `objects`) with its owner name. */
  *members(): Iterable<[object, string]> {
    for (const [index, tree] of this.trees) {
      for (const member of tree.members) yield [member, this.table.ownerNames[index]!];
    }
  }
}
