/**
 * The checkpoint byte format.
 *
 * `MAGIC` (4 bytes, "CPCK") · version (uint16, big-endian) · MessagePack payload:
 * `{ kind, names, nodes, removed, uncaptured }`. `names` is a flat list
 * `[name, slot, name, slot, …]`; `nodes` is the node table: every object appears once
 * and is referenced by index, which is how shared references and cycles survive.
 *
 * A *slot* is either an inline primitive (string, boolean, null, a number other than
 * -0) or a tagged array `[tag, …]` (see `SlotTag`). A *node* is an array whose first
 * element is its kind (see `NodeKind`). ArrayBuffer bytes are MessagePack `bin`.
 */
import { decode, encode } from "@msgpack/msgpack";
import { CheckpointError } from "../errors.ts";

export const CHECKPOINT_VERSION = 1;
const MAGIC = [0x43, 0x50, 0x43, 0x4b];
const HEADER_BYTES = MAGIC.length + 2;

export const SlotTag = {
  ref: 0,
  undefined: 1,
  negativeZero: 2,
  bigint: 3,
  registeredSymbol: 4,
  hole: 5,
  wellKnownSymbol: 6,
  /** The `.prototype` of the function node with this index. */
  prototypeOf: 8,
} as const;

export type Slot = string | number | boolean | null | readonly unknown[];

export const NodeKind = {
  object: "O",
  array: "A",
  date: "D",
  regexp: "R",
  map: "M",
  set: "S",
  arrayBuffer: "B",
  typedArray: "T",
  dataView: "V",
  boxed: "X",
  error: "E",
  function: "F",
  functionPrototype: "P",
  module: "I",
  /** A builtin of the target context by global name (`Map`, `Math`). */
  global: "G",
} as const;

/** Property attribute bits in a props list `[key, slot, flags, …]`. */
export const PropFlag = {
  writable: 1,
  enumerable: 2,
  configurable: 4,
  /** The slot is `[getterSlot, setterSlot]`. */
  accessor: 8,
  /** The default for an assignment: writable, enumerable, configurable. */
  plain: 7,
} as const;

export type CheckpointKind = "full" | "incremental";

export interface Payload {
  kind: CheckpointKind;
  names: Slot[];
  nodes: unknown[][];
  removed: string[];
  uncaptured: { name: string; reason: string }[];
}

export function writeCheckpoint(payload: Payload): Uint8Array {
  const body = encode(payload, { ignoreUndefined: false });
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint16(MAGIC.length, CHECKPOINT_VERSION);
  out.set(body, HEADER_BYTES);
  return out;
}

function invalid(detail: string, cause?: unknown): CheckpointError {
  return new CheckpointError("CHECKPOINT_INVALID", `malformed checkpoint: ${detail}`, { cause });
}

/** Reads and validates the header and payload shape; node contents are checked on decode. */
export function readCheckpoint(data: Uint8Array): Payload {
  if (!(data instanceof Uint8Array)) throw invalid("data is not a Uint8Array");
  if (data.byteLength < HEADER_BYTES || MAGIC.some((byte, i) => data[i] !== byte)) {
    throw new CheckpointError("CHECKPOINT_VERSION", "not a Capsule checkpoint (wrong magic bytes)");
  }
  const version = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint16(4);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(
      "CHECKPOINT_VERSION",
      `checkpoint version ${version} is not supported (this build reads version ${CHECKPOINT_VERSION})`,
    );
  }
  let raw: unknown;
  try {
    raw = decode(data.subarray(HEADER_BYTES));
  } catch (error) {
    throw invalid("payload is not valid MessagePack", error);
  }
  if (typeof raw !== "object" || raw === null) throw invalid("payload is not a map");
  const { kind, names, nodes, removed, uncaptured } = raw as Record<string, unknown>;
  if (kind !== "full" && kind !== "incremental") throw invalid("unknown kind");
  if (!Array.isArray(names) || names.length % 2 !== 0) throw invalid("names is not a pair list");
  if (!Array.isArray(nodes) || !nodes.every(Array.isArray)) throw invalid("nodes is not a table");
  if (!Array.isArray(removed) || !removed.every((name) => typeof name === "string")) {
    throw invalid("removed is not a list of names");
  }
  if (
    !Array.isArray(uncaptured) ||
    !uncaptured.every(
      (entry: unknown) =>
        typeof entry === "object" &&
        entry !== null &&
        typeof (entry as Record<string, unknown>).name === "string" &&
        typeof (entry as Record<string, unknown>).reason === "string",
    )
  ) {
    throw invalid("uncaptured is not a list of { name, reason }");
  }
  return { kind, names, nodes, removed, uncaptured } as Payload;
}

export { invalid as invalidCheckpoint };
