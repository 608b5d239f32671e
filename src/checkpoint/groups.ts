/**
 * Which top-level names share objects. Two names that reach a common object must be
 * restored from the same checkpoint, or the restore would split one object into two
 * copies; `NamespaceCheckpointer` uses these groups to widen an incremental checkpoint.
 */

/** The set of names that share objects with each other in one encode. */
export interface OwnerGroup {
  readonly names: ReadonlySet<string>;
}

/** Union-find over names; `groupOf` freezes the result after the encode. */
export class NameGroups {
  private readonly parent = new Map<string, string>();
  private frozen: Map<string, OwnerGroup> | undefined;

  add(name: string): void {
    if (!this.parent.has(name)) this.parent.set(name, name);
  }

  private root(name: string): string {
    let root = name;
    while (this.parent.get(root) !== root) root = this.parent.get(root) ?? root;
    // Path compression keeps later lookups short.
    for (let n = name; n !== root; ) {
      const next = this.parent.get(n)!;
      this.parent.set(n, root);
      n = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    if (a === b) return;
    this.add(a);
    this.add(b);
    const ra = this.root(a);
    const rb = this.root(b);
    if (ra !== rb) this.parent.set(ra, rb);
  }

  groupOf(name: string): OwnerGroup {
    if (this.frozen === undefined) {
      const byRoot = new Map<string, Set<string>>();
      for (const member of this.parent.keys()) {
        const root = this.root(member);
        const set = byRoot.get(root) ?? new Set<string>();
        byRoot.set(root, set);
        set.add(member);
      }
      this.frozen = new Map();
      for (const [member] of this.parent) {
        this.frozen.set(member, { names: byRoot.get(this.root(member))! });
      }
    }
    return this.frozen.get(name) ?? { names: new Set([name]) };
  }
}
