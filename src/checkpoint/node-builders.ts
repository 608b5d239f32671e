/**
 * One node per kind of value: what each builtin, function and plain object becomes in
 * the node table (see `format.ts` for the layouts). Graph bookkeeping (identity, paths,
 * rollback) stays in `encoder.ts`, reached through `NodeSink`.
 */
import { types } from "node:util";
import {
  BUILTIN_ERROR_NAMES,
  constructorOfPrototype,
  isNativeFunction,
  rejectOpaque,
  typedArrayKind,
  unboxPrimitive,
} from "./classify.ts";
import { NodeKind, type Slot, SlotTag } from "./format.ts";
import { functionSource, Uncapturable } from "./functions.ts";
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
  isResolvable(name: string): boolean;
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
    const re = value as RegExp;
    return [
      NodeKind.regexp,
      sink.proto(proto, "RegExp"),
      re.source,
      re.flags,
      re.lastIndex,
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
    return [
      NodeKind.typedArray,
      kind,
      sink.slot(view.buffer, link(path, "buffer")),
      view.byteOffset,
      view.length,
    ];
  }
  if (types.isDataView(value)) {
    const view = value as DataView;
    sink.proto(proto, "DataView", true);
    return [
      NodeKind.dataView,
      sink.slot(view.buffer, link(path, "buffer")),
      view.byteOffset,
      view.byteLength,
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
  if (!sparse) {
    items = new Array<Slot>(length);
    const dense = indexCount === length;
    for (let i = 0; i < length; i++) {
      if (!dense && !Object.hasOwn(array, i)) items[i] = [SlotTag.hole];
      else {
        const item = array[i];
        // Inline fast path for the common kinds keeps big numeric arrays cheap.
        items[i] =
          typeof item === "string" || (typeof item === "number" && !Object.is(item, -0))
            ? item
            : sink.slot(item, link(path, i));
      }
    }
  }
  const named = keys.slice(indexCount + 1);
  const propKeys = sparse ? [...keys.slice(0, indexCount), ...named] : named;
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
  const shared = types.isSharedArrayBuffer(buffer);
  sink.proto(proto, shared ? "SharedArrayBuffer" : "ArrayBuffer", true);
  const resizable = shared
    ? (buffer as SharedArrayBuffer).growable
    : (buffer as ArrayBuffer).resizable;
  if ((buffer as ArrayBuffer).detached === true) {
    throw new Uncapturable("detached ArrayBuffer", renderPath(path));
  }
  return [
    NodeKind.arrayBuffer,
    new Uint8Array(buffer),
    resizable ? buffer.maxByteLength : null,
    shared,
  ];
}

export function errorNode(
  sink: NodeSink,
  error: Error,
  proto: object | null,
  path: Path,
): unknown[] {
  let builtin = "Error";
  for (let p = proto; p !== null; p = Object.getPrototypeOf(p) as object | null) {
    const ctor = constructorOfPrototype(p);
    if (ctor !== undefined && BUILTIN_ERROR_NAMES.has(ctor.name) && isNativeFunction(ctor)) {
      builtin = ctor.name;
      break;
    }
  }
  const own = (key: string) => Object.getOwnPropertyDescriptor(error, key);
  const message = own("message");
  // V8 keeps `stack` as an own accessor that formats lazily; reading it materializes it.
  const stack = own("stack") === undefined ? undefined : Reflect.get(error, "stack");
  const cause = own("cause");
  return [
    NodeKind.error,
    sink.proto(proto, builtin),
    builtin,
    message !== undefined && "value" in message ? String(message.value) : null,
    typeof stack === "string" ? stack : null,
    cause !== undefined,
    cause !== undefined ? sink.slot(cause.value, link(path, "cause")) : null,
    sink.props(error, path, (key) => key === "message" || key === "stack" || key === "cause"),
  ];
}

export function functionNode(
  sink: NodeSink,
  fn: (...args: never[]) => unknown,
  path: Path,
): unknown[] {
  const { form, source } = functionSource(fn, sink.isResolvable);
  const superclass =
    form === "derived"
      ? sink.slot(Object.getPrototypeOf(fn), link(path, { label: "<superclass>" }))
      : null;
  // name/length/prototype are re-created by evaluating the source; static fields and
  // attached properties (`f.cache = …`) are enumerable and travel as data.
  const props = sink.props(fn, path, undefined, true);
  const prototype = Object.getOwnPropertyDescriptor(fn, "prototype")?.value as unknown;
  let prototypeProps: unknown[] = [];
  let prototypeReplaced: Slot = null;
  let prototypeParent: Slot = 0;
  const isClass = source.startsWith("class");
  if (typeof prototype === "object" && prototype !== null) {
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
  ];
}
