/**
 * The checkpoint codec: encodes a session's namespace (the global object of a `vm`
 * context) into versioned bytes, and restores it into a *fresh* context.
 *
 * Captured: primitives (incl. undefined, -0, NaN, BigInt, symbols: `Symbol.for` ones by
 * key, well-known ones by name, unique ones as one node so every use — value or
 * property key — is the same symbol after restore), Date, RegExp (with lastIndex), Map,
 * Set, arrays (sparse too), plain and null-prototype objects, ArrayBuffer/typed
 * arrays/DataView (views keep sharing their buffer), Buffer, boxed primitives, Errors
 * (name, message, stack, cause, own properties), shared and circular references
 * (identity holds across names: `b = a` → `b === a`), functions, arrows,
 * async/generator functions, methods, getters/setters and classes by source, with their
 * attached properties and static fields; closures with their captured scopes (read
 * through the inspector, see `closures.ts`; closures sharing a scope share it again);
 * instances of classes user code defined (top-level or in a closure), linked to the
 * restored class; imported values (restored by importing again). Property attributes
 * (non-enumerable, read-only, accessors) are kept, on the global too (`readNamespace`).
 *
 * Never run: user getters, setters, Proxy traps, `toString`/`valueOf` — reads go through
 * descriptors and this realm's intrinsic getters (`intrinsics.ts`).
 *
 * Not captured, each reported with a reason: native and bound functions, closures over a
 * `with` or module scope, arrows using an enclosing `this`, instances of classes of the
 * runtime (Node's sockets, streams, emitters, timers: their classes live in the worker's
 * own realm, not the session's), instances of classes with `#private` members and classes
 * with `static #private` fields (that state cannot be read), Proxies,
 * WeakMap/WeakSet/WeakRef, Promises, generator objects, iterators. Builtins and host
 * globals (`Map`, `Math`, `setTimeout`, `console`) travel by global name and resolve to
 * the target context's own.
 *
 * Granularity rule: a top-level name is captured whole or not at all. If any part deep
 * inside its value is uncapturable, the name is uncaptured and the reason says where
 * (`config.socket: instance of Socket, …`). A partial value would be a silent lie.
 *
 * Plain data is fast: a subgraph of ordinary objects and arrays holding only JSON-safe
 * primitives, nothing in it shared with the rest, is one node of JSON parsed by the
 * target context itself (`plain-trees.ts`), and an array of only numbers one node of
 * doubles; everything else goes node by node. Every property is still read by
 * descriptor (no getter may run), which is most of what an encode of plain data costs.
 *
 * A function whose free name is not yet defined (a forward reference) is reported as
 * closing over it; the incremental checkpointer retries it later.
 *
 * Known limits: frozen/sealed state is not kept; a method using `super` re-created on its
 * own loses its home object; typed arrays' own non-index properties are not kept; a
 * captured `const` is restored as a `let`; without the inspector (a worker lacking
 * `--allow-inspector`) closures are reported uncaptured as before.
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
export { assignNamespace, NamespaceAccessor, readNamespace } from "./namespace.ts";

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
