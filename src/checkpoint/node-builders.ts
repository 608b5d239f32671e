/**
 * One node per kind of value: what each builtin, function and plain object becomes in
 * the node table (see `format.ts` for the layouts). Graph bookkeeping (identity, paths,
 * rollback) stays in `encoder.ts`, reached through `NodeSink`.
 */
import { endianness } from "node:os";
import { types } from "../builtins.ts";
import {
  BUILTIN_ERROR_NAMES,
  constructorOfPrototype,
  isNativeFunction,
  rejectOpaque,
  rejectWeakHolder,
  typedArrayKind,
  unboxPrimitive,
} from "./classify.ts";
import type { CapturedScope } from "./closures.ts";
import { NodeKind, type Slot, SlotTag } from "./format.ts";
import { functionSource, Uncapturable } from "./functions.ts";
import {
  arrayBufferParts,
  dataViewParts,
  functionName,
  ownDataValue,
  regexpParts,
  typedArrayParts,
} from "./intrinsics.ts";
import { isIndexKey, link, type Path, renderPath } from "./paths.ts";

/** What node builders need from the encoder. */
export interface NodeSink {
  /** The slot of a child value (inline primitive or a reference to its node). */
  slot(value: unknown, path: Path): Slot;
  /** The node index of an object, encoding it if new. */
  nodeIndex(value: object, path: Path): number;
  /** Encodes a prototype; see `Encoder.proto`. */
  proto(proto: object | null, builtin: string, builtinOnly?: boolean): Slot;
  /** Own properties as `[key, slot, flags, …]`, all own keys minus `skip`. */
  props(
    value: object,
    path: Path,
    skip?: (key: string | symbol) => boolean,
    enumerableOnly?: boolean,
  ): unknown[];
  /** Own properties `keys` as `[key, slot, flags, …]`. */
  propsOf(
    value: object,
    path: Path,
    keys: readonly (string | symbol)[],
    enumerableOnly: boolean,
  ): unknown[];
  isNamespaceClass(fn: unknown): boolean;
  /** Whether `proto` is some realm's intrinsic `<builtin>.prototype` (remembered). */
  isIntrinsic(proto: object, builtin: string): boolean;
  isResolvable(name: string): boolean;
  /** The captured scopes of a function, innermost first (see `closures.ts`). */
  scopesOf(fn: (...args: never[]) => unknown): { chain: CapturedScope[]; unavailable?: string };
  /** The node index of the innermost of `chain`, shared by closures of one scope. */
  scopeNode(fn: (...args: never[]) => unknown, chain: readonly CapturedScope[], path: Path): number;
}

export function buildNode(sink: NodeSink, value: object, path: Path): unknown[] {
  rejectOpaque(value);
  if (typeof value === "function") {
    return functionNode(sink, value as (...args: never[]) => unknown, path);
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (types.isDate(value)) {
    return [
      NodeKind.date,
      sink.proto(proto, "Date"),
      Date.prototype.getTime.call(value),
      sink.props(value, path),
    ];
  }
  if (types.isRegExp(value)) {
    const re = regexpParts(value as RegExp);
    return [
      NodeKind.regexp,
      sink.proto(proto, "RegExp"),
      re.source,
      re.flags,
      typeof re.lastIndex === "number" ? re.lastIndex : 0,
      sink.props(value, path, (key) => key === "lastIndex"),
    ];
  }
  if (types.isMap(value)) {
    const entries: Slot[] = [];
    let i = 0;
    for (const [k, v] of Map.prototype.entries.call(value)) {
      entries.push(
        sink.slot(k, link(path, { label: `.<key ${i}>` })),
        sink.slot(v, link(path, { label: `.<value ${i}>` })),
      );
      i++;
    }
    return [NodeKind.map, sink.proto(proto, "Map"), entries, sink.props(value, path)];
  }
  if (types.isSet(value)) {
    const items: Slot[] = [];
    let i = 0;
    for (const item of Set.prototype.values.call(value))
      items.push(sink.slot(item, link(path, { label: `.<item ${i++}>` })));
    return [NodeKind.set, sink.proto(proto, "Set"), items, sink.props(value, path)];
  }
  if (types.isAnyArrayBuffer(value)) return bufferNode(sink, value, proto, path);
  if (types.isTypedArray(value)) {
    const view = value as Uint8Array;
    const isBuffer = Buffer.isBuffer(value);
    const kind = isBuffer ? "Buffer" : typedArrayKind(view);
    if (!isBuffer) sink.proto(proto, kind, true);
    const parts = typedArrayParts(view);
    return [
      NodeKind.typedArray,
      kind,
      sink.slot(parts.buffer, link(path, "buffer")),
      parts.byteOffset,
      parts.length,
    ];
  }
  if (types.isDataView(value)) {
    const parts = dataViewParts(value as DataView);
    sink.proto(proto, "DataView", true);
    return [
      NodeKind.dataView,
      sink.slot(parts.buffer, link(path, "buffer")),
      parts.byteOffset,
      parts.byteLength,
    ];
  }
  if (types.isBoxedPrimitive(value)) {
    const isString = types.isStringObject(value);
    return [
      NodeKind.boxed,
      sink.slot(unboxPrimitive(value), path),
      sink.props(
        value,
        path,
        (key) => (isString && isIndexKey(key)) || (isString && key === "length"),
      ),
    ];
  }
  if (types.isNativeError(value)) return errorNode(sink, value as Error, proto, path);
  if (Array.isArray(value)) return arrayNode(sink, value, proto, path);
  const ctor = proto === null ? undefined : constructorOfPrototype(value);
  if (ctor !== undefined && sink.isNamespaceClass(ctor)) {
    // The value *is* `C.prototype` of a namespace class: restored as the new class's.
    return [NodeKind.functionPrototype, sink.nodeIndex(ctor, link(path, "constructor"))];
  }
  // The WeakRef/FinalizationRegistry probe throws for everything else, which is not free:
  // it is skipped for the common record (own keys, the plain Object prototype). A weak
  // holder is never one, unless its prototype was replaced *and* keys were added to it.
  if (proto === null || Reflect.ownKeys(value).length === 0 || !sink.isIntrinsic(proto, "Object")) {
    rejectWeakHolder(value);
  }
  return [NodeKind.object, sink.proto(proto, "Object"), sink.props(value, path)];
}

export function arrayNode(
  sink: NodeSink,
  array: unknown[],
  proto: object | null,
  path: Path,
): unknown[] {
  // Own keys list indices first (ascending), then `length` (the first named key of
  // every array), then the other names: no per-key test is needed to split them.
  const keys = Reflect.ownKeys(array);
  const indexCount = keys.indexOf("length");
  const length = array.length;
  const sparse = indexCount < length / 2 && length > 64;
  let items: Slot[] | null = null;
  // Elements that are accessors or have non-default attributes travel as properties
  // (with their attributes), and leave a hole in `items`.
  const special: (string | symbol)[] = [];
  if (!sparse) {
    items = new Array<Slot>(length);
    for (let i = 0; i < length; i++) {
      // A descriptor, not `array[i]`: an element may be a getter, which must not run.
      const descriptor = Reflect.getOwnPropertyDescriptor(array, i);
      if (descriptor === undefined) items[i] = [SlotTag.hole];
      else if (
        !("value" in descriptor) ||
        !descriptor.writable ||
        !descriptor.enumerable ||
        !descriptor.configurable
      ) {
        items[i] = [SlotTag.hole];
        special.push(String(i));
      } else {
        const item: unknown = descriptor.value;
        // Inline fast path for the common kinds keeps big numeric arrays cheap.
        items[i] =
          typeof item === "string" || (typeof item === "number" && !Object.is(item, -0))
            ? item
            : sink.slot(item, link(path, i));
      }
    }
  }
  const named = keys.slice(indexCount + 1);
  const propKeys = sparse ? [...keys.slice(0, indexCount), ...named] : [...special, ...named];
  return [
    NodeKind.array,
    sink.proto(proto, "Array"),
    length,
    items,
    sink.propsOf(array, path, propKeys, false),
  ];
}

export function bufferNode(
  sink: NodeSink,
  buffer: ArrayBufferLike,
  proto: object | null,
  path: Path,
): unknown[] {
  const { shared, maxByteLength, detached } = arrayBufferParts(buffer);
  sink.proto(proto, shared ? "SharedArrayBuffer" : "ArrayBuffer", true);
  if (detached) throw new Uncapturable("detached ArrayBuffer", renderPath(path));
  return [NodeKind.arrayBuffer, new Uint8Array(buffer), maxByteLength ?? null, shared];
}

export function errorNode(
  sink: NodeSink,
  error: Error,
  proto: object | null,
  path: Path,
): unknown[] {
  let builtin = "Error";
  // A Proxy in the chain ends the walk (its getPrototypeOf trap is user code).
  for (let p = proto; p !== null && !types.isProxy(p); p = Object.getPrototypeOf(p)) {
    const ctor = constructorOfPrototype(p);
    const name = ctor === undefined ? "" : functionName(ctor);
    if (ctor !== undefined && BUILTIN_ERROR_NAMES.has(name) && isNativeFunction(ctor)) {
      builtin = name;
      break;
    }
  }
  const own = (key: string) => Object.getOwnPropertyDescriptor(error, key);
  const message = own("message");
  // V8 keeps `stack` as an own *native* accessor that formats lazily; calling that getter
  // runs no user code. A user-defined `stack` (data or getter) travels as a property.
  const stackDescriptor = own("stack");
  const nativeStack =
    stackDescriptor?.get !== undefined && isNativeFunction(stackDescriptor.get)
      ? stackDescriptor.get.call(error)
      : undefined;
  const cause = own("cause");
  const causeIsData = cause !== undefined && "value" in cause;
  const messageIsData = message !== undefined && "value" in message;
  return [
    NodeKind.error,
    sink.proto(proto, builtin),
    builtin,
    messageIsData && typeof message.value === "string" ? message.value : null,
    typeof nativeStack === "string" ? nativeStack : null,
    causeIsData,
    causeIsData ? sink.slot(cause.value, link(path, "cause")) : null,
    sink.props(
      error,
      path,
      (key) =>
        (key === "message" && messageIsData && typeof message.value === "string") ||
        (key === "stack" && typeof nativeStack === "string") ||
        (key === "cause" && causeIsData),
    ),
  ];
}

export function functionNode(
  sink: NodeSink,
  fn: (...args: never[]) => unknown,
  path: Path,
): unknown[] {
  // Names a closure reads from its captured scopes are not free: they travel with it.
  const { chain, unavailable } = sink.scopesOf(fn);
  const captured = new Set(chain.flatMap((scope) => scope.variables.map(([name]) => name)));
  const { form, source, free } = functionSource(
    fn,
    (name) => captured.has(name) || sink.isResolvable(name),
    unavailable,
  );
  // A function nested in another one that reads none of its variables needs no scope.
  const scope = [...free].some((name) => captured.has(name))
    ? sink.scopeNode(fn, chain, path)
    : null;
  const superclass =
    form === "derived"
      ? sink.slot(Object.getPrototypeOf(fn), link(path, { label: "<superclass>" }))
      : null;
  // name/length/prototype are re-created by evaluating the source; static fields and
  // attached properties (`f.cache = …`) are enumerable and travel as data.
  const props = sink.props(fn, path, undefined, true);
  const prototype = ownDataValue(fn, "prototype");
  let prototypeProps: unknown[] = [];
  let prototypeReplaced: Slot = null;
  let prototypeParent: Slot = 0;
  const isClass = source.startsWith("class");
  if (types.isProxy(prototype)) {
    prototypeReplaced = sink.slot(prototype, link(path, "prototype"));
  } else if (typeof prototype === "object" && prototype !== null) {
    if (constructorOfPrototype(prototype) === fn) {
      prototypeProps = sink.props(prototype, link(path, "prototype"), undefined, true);
      if (!isClass) {
        prototypeParent = sink.proto(Object.getPrototypeOf(prototype) as object | null, "Object");
      }
    } else if (Reflect.ownKeys(prototype).length > 0) {
      prototypeReplaced = sink.slot(prototype, link(path, "prototype"));
    }
  }
  return [
    NodeKind.function,
    form,
    source,
    superclass,
    props,
    prototypeProps,
    prototypeReplaced,
    prototypeParent,
    scope,
  ];
}

const LITTLE_ENDIAN = endianness() === "LE";

/** `["N", bytes]`: an array's numbers as little-endian doubles (see `NodeKind.numbers`). */
export function numbersNode(numbers: readonly number[]): unknown[] {
  const doubles = new Float64Array(numbers.length);
  // A loop, not `new Float64Array(numbers)`: the walk's value lists hold any kind of
  // item, so V8 keeps them generic, and the constructor's path for those measured ~30x
  // slower than this loop (0.8 ms for 40,000 numbers).
  if (LITTLE_ENDIAN) for (let i = 0; i < numbers.length; i++) doubles[i] = numbers[i]!;
  else {
    const view = new DataView(doubles.buffer);
    for (let i = 0; i < numbers.length; i++) view.setFloat64(i * 8, numbers[i]!, true);
  }
  return [NodeKind.numbers, new Uint8Array(doubles.buffer)];
}
