/**
 * Reads V8 heap snapshot JSON (the format of `v8.writeHeapSnapshot`) for one thing: the
 * chain of Context objects a function closes over. Two closures share a scope exactly
 * when their chains hold the same Context node at that level.
 */

interface SnapshotMeta {
  node_fields: string[];
  edge_fields: string[];
  edge_types: [string[], ...unknown[]];
}

interface Snapshot {
  snapshot: { meta: SnapshotMeta };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** One parsed snapshot, queried for any number of functions. */
export class HeapContexts {
  private readonly nodes: number[];
  private readonly edges: number[];
  private readonly strings: string[];
  private readonly nodeWidth: number;
  private readonly edgeWidth: number;
  private readonly field: Record<
    "id" | "name" | "edgeCount" | "edgeName" | "edgeTo" | "edgeType",
    number
  >;
  private readonly edgeTypes: string[];
  /** Node ordinal → index of its first edge (edges are stored node after node). */
  private readonly firstEdge: Float64Array;
  private readonly ordinalOf = new Map<number, number>();

  constructor(snapshotJson: string) {
    const { snapshot, nodes, edges, strings } = JSON.parse(snapshotJson) as Snapshot;
    const { meta } = snapshot;
    this.nodes = nodes;
    this.edges = edges;
    this.strings = strings;
    this.nodeWidth = meta.node_fields.length;
    this.edgeWidth = meta.edge_fields.length;
    this.edgeTypes = meta.edge_types[0];
    this.field = {
      id: meta.node_fields.indexOf("id"),
      name: meta.node_fields.indexOf("name"),
      edgeCount: meta.node_fields.indexOf("edge_count"),
      edgeType: meta.edge_fields.indexOf("type"),
      edgeName: meta.edge_fields.indexOf("name_or_index"),
      edgeTo: meta.edge_fields.indexOf("to_node"),
    };
    const count = nodes.length / this.nodeWidth;
    this.firstEdge = new Float64Array(count);
    for (let n = 0, edge = 0; n < count; n++) {
      this.firstEdge[n] = edge;
      edge += nodes[n * this.nodeWidth + this.field.edgeCount]! * this.edgeWidth;
      this.ordinalOf.set(nodes[n * this.nodeWidth + this.field.id]!, n);
    }
  }

  /**
   * The heap ids of the Contexts of the function with heap id `functionId`, innermost
   * first, up to (not including) the NativeContext; undefined if it is not in the snapshot.
   */
  chainOf(functionId: number): number[] | undefined {
    const ordinal = this.ordinalOf.get(functionId);
    if (ordinal === undefined) return undefined;
    const chain: number[] = [];
    for (
      let context = this.follow(ordinal, "context");
      context !== undefined && !this.nameOf(context).includes("NativeContext");
      context = this.follow(context, "previous")
    ) {
      chain.push(this.nodes[context * this.nodeWidth + this.field.id]!);
    }
    return chain;
  }

  private nameOf(ordinal: number): string {
    return this.strings[this.nodes[ordinal * this.nodeWidth + this.field.name]!] ?? "";
  }

  /** The target of the node's named edge `name`, as a node ordinal. */
  private follow(ordinal: number, name: string): number | undefined {
    const count = this.nodes[ordinal * this.nodeWidth + this.field.edgeCount]!;
    for (let k = 0; k < count; k++) {
      const at = this.firstEdge[ordinal]! + k * this.edgeWidth;
      const type = this.edgeTypes[this.edges[at + this.field.edgeType]!];
      if (type === "element" || type === "hidden") continue;
      if (this.strings[this.edges[at + this.field.edgeName]!] === name) {
        return this.edges[at + this.field.edgeTo]! / this.nodeWidth;
      }
    }
    return undefined;
  }
}
