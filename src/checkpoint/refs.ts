/**
 * The node indices a node refers to, by kind. Used to find which top-level names reach a
 * node that failed to restore (so only those names are reported, not the whole restore).
 */
import { NodeKind, PropFlag, SlotTag } from "./format.ts";

function slotRefs(slot: unknown, out: number[]): void {
  if (!Array.isArray(slot)) return;
  if (slot[0] === SlotTag.accessor) {
    slotRefs(slot[1], out);
    slotRefs(slot[2], out);
    return;
  }
  if ((slot[0] === SlotTag.ref || slot[0] === SlotTag.prototypeOf) && typeof slot[1] === "number") {
    out.push(slot[1]);
  }
}

function propRefs(props: unknown, out: number[]): void {
  if (!Array.isArray(props)) return;
  for (let k = 0; k + 2 < props.length; k += 3) {
    const value = props[k + 1];
    if (typeof props[k + 2] === "number" && (props[k + 2] & PropFlag.accessor) !== 0) {
      if (Array.isArray(value)) for (const part of value) slotRefs(part, out);
    } else slotRefs(value, out);
  }
}

function listRefs(list: unknown, out: number[]): void {
  if (Array.isArray(list)) for (const slot of list) slotRefs(slot, out);
}

/** Indices referenced by a top-level slot. */
export function refsOfSlot(slot: unknown): number[] {
  const out: number[] = [];
  slotRefs(slot, out);
  return out;
}

/** Indices referenced by one node of the table. */
export function refsOfNode(node: readonly unknown[]): number[] {
  const out: number[] = [];
  switch (node[0]) {
    case NodeKind.object:
      slotRefs(node[1], out);
      propRefs(node[2], out);
      break;
    case NodeKind.array:
      slotRefs(node[1], out);
      listRefs(node[3], out);
      propRefs(node[4], out);
      break;
    case NodeKind.date:
      slotRefs(node[1], out);
      propRefs(node[3], out);
      break;
    case NodeKind.regexp:
      slotRefs(node[1], out);
      propRefs(node[5], out);
      break;
    case NodeKind.map:
    case NodeKind.set:
      slotRefs(node[1], out);
      listRefs(node[2], out);
      propRefs(node[3], out);
      break;
    case NodeKind.typedArray:
      slotRefs(node[2], out);
      break;
    case NodeKind.dataView:
      slotRefs(node[1], out);
      break;
    case NodeKind.boxed:
      propRefs(node[2], out);
      break;
    case NodeKind.error:
      slotRefs(node[1], out);
      slotRefs(node[6], out);
      propRefs(node[7], out);
      break;
    case NodeKind.function:
      slotRefs(node[3], out);
      propRefs(node[4], out);
      propRefs(node[5], out);
      slotRefs(node[6], out);
      slotRefs(node[7], out);
      if (typeof node[8] === "number") out.push(node[8]);
      break;
    case NodeKind.scope:
      if (typeof node[1] === "number") out.push(node[1]);
      if (Array.isArray(node[3]))
        for (let k = 1; k < node[3].length; k += 2) slotRefs(node[3][k], out);
      break;
    case NodeKind.plain:
      if (Array.isArray(node[2]))
        for (let k = 1; k < node[2].length; k += 2) slotRefs(node[2][k], out);
      break;
    case NodeKind.functionPrototype:
      if (typeof node[1] === "number") out.push(node[1]);
      break;
  }
  return out;
}

/** For a top-level slot, the reason of the first failed node it reaches, if any. */
export function failureFinder(
  nodes: unknown[][],
  failedNodes: ReadonlyMap<number, string>,
): (slot: unknown) => string | undefined {
  return (slot) => {
    const seen = new Set<number>();
    const stack = refsOfSlot(slot);
    while (stack.length > 0) {
      const index = stack.pop()!;
      if (seen.has(index)) continue;
      seen.add(index);
      const reason = failedNodes.get(index);
      if (reason !== undefined) return reason;
      const node = nodes[index];
      if (node !== undefined) for (const ref of refsOfNode(node)) stack.push(ref);
    }
    return undefined;
  };
}
