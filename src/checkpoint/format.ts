/**
 * The checkpoint byte format.
 *
 * `MAGIC` (4 bytes, "CPCK") · version (uint16, big-endian) · CRC-32 (uint32, big-endian)
 * of magic, version and payload · MessagePack payload:
 * `{ kind, names, nodes, removed, uncaptured }`. `names` is a flat list
 * `[name, slot, name, slot, …]`; `nodes` is the node table: every object appears once
 * and is referenced by index, which is how shared references and cycles survive.
 *
 * A *slot* is either an inline primitive (string, boolean, null, a number other than
 * -0) or a tagged array `[tag, …]` (see `SlotTag`). A *node* is an array whose first
 * element is its kind (see `NodeKind`). ArrayBuffer bytes are MessagePack `bin`.
 */
import { crc32 } from "node:zlib";
import { decode, Encoder } from "@msgpack/msgpack";
import { CheckpointError } from "../errors.ts";

/**
 * 2: the envelope carries a CRC-32; module nodes may say `require`. 3: a plain node may
 * carry patches (`["J", json, [path, slot, …]]`), which a version-2 reader would drop.
 * 4: an array of numbers may be a `numbers` node (`["N", float64 bytes]`), which a
 * version-3 reader does not know. Versions 2 and 3 are still read (each is the next
 * one without its new node form).
 */
export const CHECKPOINT_VERSION = 4;
const OLDEST_READABLE_VERSION = 2;
const MAGIC = [0x43, 0x50, 0x43, 0x4b];
const VERSION_AT = MAGIC.length;
const CHECKSUM_AT = VERSION_AT + 2;
const HEADER_BYTES = CHECKSUM_AT + 4;

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
  /** Top-level names only: an accessor, `[9, getterSlot, setterSlot, flags]`. */
  accessor: 9,
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
  /** A unique `Symbol()`: `["Y", description | null]`; every use refers to this node. */
  symbol: "Y",
  /**
   * A closure's captured scope: `["C", parentScope | null, label, [name, slot, …]]`.
   * Functions created in it name it as their scope (see `closures.ts`).
   */
  scope: "C",
  /**
   * A plain tree of data (see `plain-trees.ts`): `["J", json]` (UTF-8 bytes), parsed by the target
   * context's `JSON.parse`, or `["J", json, [path, slot, …]]`: each path (keys from the
   * root) is `null` in the JSON and set to its slot once every node exists. Only its
   * root can be referenced.
   */
  plain: "J",
  /**
   * An ordinary array of only numbers, dense, nothing else on it (found by the plain-tree
   * walk, see `plain-trees.ts`): `["N", bytes]`, its items as IEEE-754 doubles,
   * little-endian (-0, NaN and ±Infinity included). Written and read in bulk, where JSON
   * would format and parse each number as decimal text.
   */
  numbers: "N",
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

/**
 * One MessagePack encoder kept between checkpoints: a fresh one starts at 2 KiB and
 * doubles its buffer, copying what it wrote each time, then copies the result out; the
 * kept one writes in place and `sealCheckpoint` makes the only copy. Kept only while
 * its buffer is small, so one large checkpoint does not pin its size for the worker's life.
 */
let spareEncoder: Encoder | undefined;
const KEEP_ENCODER_BYTES = 4 * 1024 * 1024;

export function writeCheckpoint(payload: Payload): Uint8Array {
  // A large checkpoint gets an encoder sized for its binary parts up front: growing by
  // doubling from 2 KiB copied ~2x its size through ever larger zeroed buffers.
  const estimate = binaryBytes(payload.nodes);
  const encoder =
    estimate > KEEP_ENCODER_BYTES
      ? new Encoder({ ignoreUndefined: false, initialBufferSize: estimate + (estimate >> 3) })
      : (spareEncoder ?? new Encoder({ ignoreUndefined: false }));
  if (encoder === spareEncoder) spareEncoder = undefined;
  // A view of the encoder's own buffer, copied by `sealCheckpoint` before any reuse.
  const body = encoder.encodeSharedRef(payload);
  const sealed = sealCheckpoint(body);
  if (body.buffer.byteLength <= KEEP_ENCODER_BYTES) spareEncoder = encoder;
  return sealed;
}

/** The bytes of the nodes' binary parts (plain trees' JSON, numbers, buffers). */
function binaryBytes(nodes: readonly unknown[][]): number {
  let total = 0;
  for (const node of nodes) {
    const part = node[1];
    if (part instanceof Uint8Array) total += part.byteLength;
  }
  return total;
}

/**
 * Wraps encoded payload bytes in the envelope. The checksum is CRC-32 (`zlib.crc32`,
 * computed in hardware where the CPU has it): it guards against accidental damage — a
 * flipped bit in a store, a truncated copy, a wrong slice — and detects every burst of
 * up to 32 bits, which a torn or flipped region of one record is. It is no defence
 * against someone who can write the bytes (they could recompute any unkeyed hash, so a
 * SHA-256 would cost more and protect no better).
 */
export function sealCheckpoint(body: Uint8Array, version: number = CHECKPOINT_VERSION): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.byteLength);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(VERSION_AT, version);
  out.set(body, HEADER_BYTES);
  view.setUint32(CHECKSUM_AT, checksumOf(out));
  return out;
}

/** CRC-32 of everything but the checksum field itself. */
function checksumOf(data: Uint8Array): number {
  return crc32(data.subarray(HEADER_BYTES), crc32(data.subarray(0, CHECKSUM_AT)));
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function invalid(detail: string, cause?: unknown): CheckpointError {
  return new CheckpointError("CHECKPOINT_INVALID", `malformed checkpoint: ${detail}`, { cause });
}

/** Reads and validates the header and payload shape; node contents are checked on decode. */
export function readCheckpoint(data: Uint8Array): Payload {
  if (!(data instanceof Uint8Array)) throw invalid("data is not a Uint8Array");
  if (data.byteLength < CHECKSUM_AT || MAGIC.some((byte, i) => data[i] !== byte)) {
    throw new CheckpointError("CHECKPOINT_VERSION", "not a Capsule checkpoint (wrong magic bytes)");
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint16(VERSION_AT);
  if (version < OLDEST_READABLE_VERSION || version > CHECKPOINT_VERSION) {
    throw new CheckpointError(
      "CHECKPOINT_VERSION",
      `checkpoint version ${version} is not supported (this build reads versions ${OLDEST_READABLE_VERSION} to ${CHECKPOINT_VERSION})`,
    );
  }
  // Verified before anything is decoded: damaged bytes can decode "successfully" into a
  // different namespace (a renamed variable, an empty one), which is worse than failing.
  if (data.byteLength < HEADER_BYTES) {
    throw new CheckpointError("CHECKPOINT_CORRUPT", "checkpoint is truncated inside its header");
  }
  const stored = view.getUint32(CHECKSUM_AT);
  const actual = checksumOf(data);
  if (stored !== actual) {
    throw new CheckpointError(
      "CHECKPOINT_CORRUPT",
      `checkpoint is damaged: its checksum is ${hex(stored)}, its ${data.byteLength} bytes give ${hex(actual)}`,
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
