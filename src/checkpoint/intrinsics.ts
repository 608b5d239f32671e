/**
 * Reads of user values that never run user code. `obj.x` may call a getter (own or
 * inherited) or a Proxy trap, and Capsule must not run user code to take a checkpoint.
 * So the codec reads own data properties through descriptors, and the internal state of
 * builtins (a typed array's buffer, a RegExp's flags) through *this* realm's prototype
 * getters called on the value: those check internal slots and work across `vm` contexts,
 * and an own `buffer` getter on the value cannot intercept them.
 */
import { types } from "../builtins.ts";

type Getter = (this: unknown) => unknown;

function getterOf(proto: object, key: string): Getter {
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (get === undefined) throw new Error(`this runtime has no ${key} getter`);
  return get as Getter;
}

/** An own data property's value; undefined for accessors, missing keys and Proxies. */
export function ownDataValue(value: object, key: PropertyKey): unknown {
  if (types.isProxy(value)) return undefined;
  const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
  return descriptor !== undefined && "value" in descriptor ? descriptor.value : undefined;
}

/** A function's own `name` when it is a data property (a `static get name()` is not read). */
export function functionName(fn: object): string {
  const name = ownDataValue(fn, "name");
  return typeof name === "string" ? name : "";
}

const typedArrayProto = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayBuffer = getterOf(typedArrayProto, "buffer");
const typedArrayOffset = getterOf(typedArrayProto, "byteOffset");
const typedArrayLength = getterOf(typedArrayProto, "length");

export function typedArrayParts(view: ArrayBufferView): {
  buffer: ArrayBufferLike;
  byteOffset: number;
  length: number;
} {
  return {
    buffer: typedArrayBuffer.call(view) as ArrayBufferLike,
    byteOffset: typedArrayOffset.call(view) as number,
    length: typedArrayLength.call(view) as number,
  };
}

const dataViewBuffer = getterOf(DataView.prototype, "buffer");
const dataViewOffset = getterOf(DataView.prototype, "byteOffset");
const dataViewLength = getterOf(DataView.prototype, "byteLength");

export function dataViewParts(view: DataView): {
  buffer: ArrayBufferLike;
  byteOffset: number;
  byteLength: number;
} {
  return {
    buffer: dataViewBuffer.call(view) as ArrayBufferLike,
    byteOffset: dataViewOffset.call(view) as number,
    byteLength: dataViewLength.call(view) as number,
  };
}

const bufferResizable = getterOf(ArrayBuffer.prototype, "resizable");
const bufferMaxLength = getterOf(ArrayBuffer.prototype, "maxByteLength");
const bufferDetached = getterOf(ArrayBuffer.prototype, "detached");
const sharedGrowable = getterOf(SharedArrayBuffer.prototype, "growable");
const sharedMaxLength = getterOf(SharedArrayBuffer.prototype, "maxByteLength");

export function arrayBufferParts(buffer: ArrayBufferLike): {
  shared: boolean;
  /** Set for resizable (growable) buffers only. */
  maxByteLength: number | undefined;
  detached: boolean;
} {
  if (types.isSharedArrayBuffer(buffer)) {
    return {
      shared: true,
      maxByteLength: sharedGrowable.call(buffer)
        ? (sharedMaxLength.call(buffer) as number)
        : undefined,
      detached: false,
    };
  }
  return {
    shared: false,
    maxByteLength: bufferResizable.call(buffer)
      ? (bufferMaxLength.call(buffer) as number)
      : undefined,
    detached: bufferDetached.call(buffer) === true,
  };
}

const regexpSource = getterOf(RegExp.prototype, "source");
/** `RegExp.prototype.flags` itself reads `this.global` etc., which an own getter could
 * intercept; each flag's own getter reads the internal slot. */
const REGEXP_FLAGS: ReadonlyArray<[string, Getter]> = [
  ["d", getterOf(RegExp.prototype, "hasIndices")],
  ["g", getterOf(RegExp.prototype, "global")],
  ["i", getterOf(RegExp.prototype, "ignoreCase")],
  ["m", getterOf(RegExp.prototype, "multiline")],
  ["s", getterOf(RegExp.prototype, "dotAll")],
  ["u", getterOf(RegExp.prototype, "unicode")],
  ["v", getterOf(RegExp.prototype, "unicodeSets")],
  ["y", getterOf(RegExp.prototype, "sticky")],
];

export function regexpParts(re: RegExp): { source: string; flags: string; lastIndex: unknown } {
  let flags = "";
  for (const [flag, get] of REGEXP_FLAGS) if (get.call(re) === true) flags += flag;
  // `lastIndex` is an own, non-configurable data property of every RegExp.
  return {
    source: regexpSource.call(re) as string,
    flags,
    lastIndex: ownDataValue(re, "lastIndex"),
  };
}
