/**
 * The checkpoint codec: encodes a session's namespace (the global object of a `vm`
 * context) into versioned bytes, and restores it into a *fresh* context.
 *
 * Captured: primitives (incl. undefined, -0, NaN, BigInt, `Symbol.for` symbols), Date,
 * RegExp (with lastIndex), Map, Set, arrays (sparse too), plain and null-prototype
 * objects, ArrayBuffer/typed arrays/DataView (views keep sharing their buffer), Buffer,
 * boxed primitives, Errors (name, message, stack, cause, own properties), shared and
 * circular references (identity holds across names: `b = a` → `b === a`), functions,
 * arrows, async/generator functions, methods, getters/setters and classes by source,
 * with their attached properties and static fields; instances of namespace classes,
 * linked to the restored class; imported values (restored by importing again).
 * Property attributes (non-enumerable, read-only, accessors) are kept.
 *
 * Not captured, each reported with a reason: native and bound functions, closures over
 * local variables (free identifiers that are neither namespace names nor globals of
 * the target), arrows using an enclosing `this`, instances of classes that are not bound
 * to a top-level name (this covers Node's sockets, streams, emitters, timers: their
 * prototypes belong to Node, not to the namespace), instances of classes with `#private`
 * members and classes with `static #private` fields (that state cannot be read),
 * Proxies, WeakMap/WeakSet/WeakRef, Promises, generator objects, iterators, unique
 * symbols. Builtins and host globals (`Map`, `Math`, `setTimeout`, `console`) travel by
 * global name and resolve to the target context's own.
 *
 * Granularity rule: a top-level name is captured whole or not at all. If any part deep
 * inside its value is uncapturable, the name is uncaptured and the reason says where
 * (`config.socket: instance of Socket, …`). A partial value would be a silent lie.
 *
 * Getters/setters are kept by source, like methods. A function whose free name is not
 * yet defined (a forward reference) is reported as closing over it; the incremental
 * checkpointer retries it later.
 *
 * Known limits: frozen/sealed state is not kept; a method using `super` re-created on its
 * own loses its home object; typed arrays' own non-index properties are not kept.
 */
import type vm from "node:vm";
import { type DecodedNamespace, type DecodeOptions, decodePayload } from "./decode.ts";
import { type EncodedNamespace, type EncodeOptions, runEncode } from "./encode.ts";
import { readCheckpoint } from "./format.ts";

export type { DecodedNamespace, DecodeOptions } from "./decode.ts";
export type { EncodedNamespace, EncodeOptions, ModuleBinding, Uncaptured } from "./encode.ts";
export { DEFAULT_MAX_BYTES } from "./encode.ts";
export { CHECKPOINT_VERSION } from "./format.ts";
export { defaultContextGlobals } from "./globals.ts";
export {
  applyCheckpoints,
  type IncrementalCheckpoint,
  NamespaceCheckpointer,
} from "./incremental.ts";

/**
 * Encodes every entry. Throws `CheckpointError` `CHECKPOINT_TOO_LARGE` over `maxBytes`
 * (the message names the largest names). Uncapturable names are listed, not thrown.
 */
export function encodeNamespace(
  entries: Iterable<[string, unknown]>,
  options: EncodeOptions = {},
): EncodedNamespace {
  const map = new Map(entries);
  const run = runEncode(
    { kind: "full", entries: map, encode: [...map.keys()], removed: [] },
    options,
  );
  return { data: run.data, names: run.names, uncaptured: run.uncaptured, bytes: run.bytes };
}

/**
 * Restores a checkpoint's values as objects of `context` (it does not assign them into
 * the context: the caller merges them key by key). Imports are awaited through
 * `loadModule`. Throws `CheckpointError` `CHECKPOINT_VERSION` for foreign or newer data,
 * `CHECKPOINT_INVALID` for malformed data. Names that cannot be restored are in `failed`.
 */
export async function decodeNamespace(
  data: Uint8Array,
  context: vm.Context,
  options: DecodeOptions = {},
): Promise<DecodedNamespace> {
  return decodePayload(readCheckpoint(data), context, options);
}
