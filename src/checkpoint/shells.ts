/** Phase 2 of a restore: every data node as an empty value of the target context. */
import { endianness } from "node:os";
import { invalidCheckpoint, NodeKind } from "./format.ts";
import type { Realm } from "./realm.ts";
import { asNumber, asString, expect } from "./validate.ts";

/** Fatal: bytes that are not UTF-8 are a malformed checkpoint, not replacement characters. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

const LITTLE_ENDIAN = endianness() === "LE";

/** A new ArrayBuffer (or SharedArrayBuffer) of the target holding the node's bytes. */
export function createBuffer(node: unknown[], realm: Realm): ArrayBuffer {
  const bytes = node[1];
  expect(bytes instanceof Uint8Array, "array buffer bytes are not binary");
  const maxByteLength = node[2] === null ? undefined : asNumber(node[2], "maxByteLength");
  const options = maxByteLength === undefined ? undefined : { maxByteLength };
  const ctor = realm.constructorOf(node[3] === true ? "SharedArrayBuffer" : "ArrayBuffer");
  const buffer = new ctor(bytes.byteLength, options) as ArrayBuffer;
  new Uint8Array(buffer).set(bytes);
  return buffer;
}

/**
 * The value of a data node, created empty (contents are filled in a later phase, once
 * every value exists). Views need their buffer, which `resolve` finds already created.
 */
export function createShell(
  node: unknown[],
  realm: Realm,
  resolve: (slot: unknown) => unknown,
): unknown {
  const make = (name: string, ...args: unknown[]) => new (realm.constructorOf(name))(...args);
  switch (node[0]) {
    case NodeKind.object:
      return node[1] === null
        ? (realm.constructorOf("Object") as unknown as ObjectConstructor).create(null)
        : make("Object");
    case NodeKind.array:
      return make("Array");
    case NodeKind.date:
      return make("Date", asNumber(node[2], "date"));
    case NodeKind.regexp: {
      const re = make(
        "RegExp",
        asString(node[2], "regexp source"),
        asString(node[3], "regexp flags"),
      ) as RegExp;
      re.lastIndex = asNumber(node[4], "lastIndex");
      return re;
    }
    case NodeKind.map:
      return make("Map");
    case NodeKind.set:
      return make("Set");
    case NodeKind.typedArray: {
      const kind = asString(node[1], "typed array kind");
      const buffer = bufferAt(resolve, node[2]);
      const offset = asNumber(node[3], "byteOffset");
      const length = asNumber(node[4], "length");
      // Node Buffers come back as Buffers where the target exposes Buffer.
      const bufferClass = kind === "Buffer" ? realm.global("Buffer") : undefined;
      if (typeof bufferClass === "function") {
        return (bufferClass as typeof Buffer).from(buffer, offset, length);
      }
      return make(kind === "Buffer" ? "Uint8Array" : kind, buffer, offset, length);
    }
    case NodeKind.dataView:
      return make(
        "DataView",
        bufferAt(resolve, node[1]),
        asNumber(node[2], "byteOffset"),
        asNumber(node[3], "byteLength"),
      );
    case NodeKind.boxed:
      return (realm.constructorOf("Object") as unknown as (v: unknown) => object)(resolve(node[1]));
    case NodeKind.error:
      return createError(node, realm);
    case NodeKind.numbers: {
      const bytes = node[1];
      expect(bytes instanceof Uint8Array, "a numbers node is not binary");
      expect(bytes.byteLength % 8 === 0, "a numbers node is not a whole number of doubles");
      return realm.arrayOfNumbers(readDoubles(bytes));
    }
    case NodeKind.plain: {
      const bytes = node[1];
      expect(bytes instanceof Uint8Array, "a plain tree is not binary");
      const tree = realm.parseJSON(utf8.decode(bytes));
      expect(typeof tree === "object" && tree !== null, "a plain tree is not an object");
      return tree;
    }
    default:
      throw invalidCheckpoint(`unknown node kind ${JSON.stringify(node[0])}`);
  }
}

/** Little-endian doubles as this platform's numbers (an aligned copy: msgpack's bytes may not be). */
function readDoubles(bytes: Uint8Array): Float64Array {
  const doubles = new Float64Array(bytes.byteLength / 8);
  if (LITTLE_ENDIAN) new Uint8Array(doubles.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < doubles.length; i++) doubles[i] = view.getFloat64(i * 8, true);
  }
  return doubles;
}

function bufferAt(resolve: (slot: unknown) => unknown, slot: unknown): ArrayBuffer {
  const buffer = resolve(slot);
  expect(
    Object.prototype.toString.call(buffer).endsWith("ArrayBuffer]"),
    "a view does not refer to an array buffer",
  );
  return buffer as ArrayBuffer;
}

/** An error of the target's builtin class, with the original message and stack. */
function createError(node: unknown[], realm: Realm): Error {
  const builtin = asString(node[2], "error kind");
  const ctor = realm.constructorOf(builtin);
  const message = node[3] === null ? undefined : asString(node[3], "error message");
  const error = (
    builtin === "AggregateError"
      ? new ctor([], message)
      : builtin === "SuppressedError"
        ? new ctor(undefined, undefined, message)
        : new ctor(message)
  ) as Error;
  if (node[4] !== null) {
    Object.defineProperty(error, "stack", {
      value: asString(node[4], "error stack"),
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
  return error;
}
