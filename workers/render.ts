/**
 * How the worker shows values to the host. A cell's result: the value itself when it is
 * plain data that MessagePack carries faithfully, and always a readable rendering like a
 * REPL prints. `display(value)`: a MIME bundle for rich frontends (Jupyter).
 *
 * Deciding whether a result is plain data reads property descriptors and never a
 * property's value through `[[Get]]`: a getter or a proxy trap is user code, and a result
 * is rendered after its cell ended, outside the cell's time limit and interrupt. A value
 * with an accessor or a proxy anywhere inside is not plain data (it goes as its rendering
 * only, which `util.inspect` makes without calling getters).
 */
import { util } from "../src/builtins.ts";
import { isJsonMime, MIME_TYPE } from "../src/protocol/mime.ts";
import type { DisplayItem } from "./output.ts";

export interface RenderedResult {
  has_value: boolean;
  value?: unknown;
  display: string;
}

const MAX_PLAIN_NODES = 100_000;
const INSPECT_OPTIONS = {
  depth: 4,
  maxArrayLength: 100,
  maxStringLength: 10_000,
  breakLength: 100,
} as const;

export function renderResult(value: unknown): RenderedResult {
  const display = util.inspect(value, INSPECT_OPTIONS);
  return isPlainData(value) ? { has_value: true, value, display } : { has_value: false, display };
}

/** The value of an own data property, or `missing` for an accessor or no property. */
const missing: unique symbol = Symbol("missing");
function dataProperty(object: object, key: PropertyKey): unknown {
  const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
  return descriptor !== undefined && "value" in descriptor ? descriptor.value : missing;
}

/**
 * Plain data: what decodes on the host to an equal value. Cross-realm safe (values made in
 * the session's vm context have that context's prototypes), so prototypes are compared
 * by shape rather than identity.
 */
export function isPlainData(root: unknown): boolean {
  let budget = MAX_PLAIN_NODES;
  const seen = new Set<object>();
  // MessagePack turns a nested `undefined` into null: such a value is not carried faithfully.
  const visit = (value: unknown, root = false): boolean => {
    if (--budget < 0) return false;
    if (value === null || (value === undefined && root)) return true;
    switch (typeof value) {
      case "string":
      case "boolean":
      case "number":
        return true;
      case "object":
        break;
      default:
        return false;
    }
    const object = value as object;
    if (util.types.isProxy(object)) return false; // its traps are user code
    if (seen.has(object)) return false; // cycles and shared references are not plain data
    seen.add(object);
    if (util.types.isDate(object)) return true;
    if (util.types.isUint8Array(object)) return true;
    if (Array.isArray(object)) {
      const length = dataProperty(object, "length");
      if (typeof length !== "number") return false;
      for (let i = 0; i < length; i++) {
        // A hole or an accessor element: MessagePack would not carry it as it is.
        const item = dataProperty(object, String(i));
        if (item === missing || !visit(item)) return false;
      }
      return true;
    }
    const proto = Reflect.getPrototypeOf(object);
    if (proto !== null) {
      if (Reflect.getPrototypeOf(proto) !== null) return false;
      const maker = dataProperty(proto, "constructor");
      if (typeof maker !== "function" || dataProperty(maker, "name") !== "Object") return false;
    }
    for (const key of Reflect.ownKeys(object)) {
      if (typeof key === "symbol") return false;
      const descriptor = Reflect.getOwnPropertyDescriptor(object, key);
      if (descriptor === undefined || descriptor.enumerable !== true) continue;
      if (!("value" in descriptor) || !visit(descriptor.value)) return false;
    }
    return true;
  };
  return visit(root, true);
}

/** What `display(value, options)` sends: a bundle with `text/plain`, and how to show it. */
export interface DisplayOptions {
  /** `value` is itself a MIME bundle (`{ "text/html": "<b>x</b>" }`), sent as it is. */
  raw?: boolean;
  /** Names this display, so a later `display(v, { display_id, update: true })` replaces it. */
  display_id?: string;
  /** Replace the display named `display_id` instead of adding one. */
  update?: boolean;
  /** Jupyter display metadata (`{ "image/png": { width: 200 } }`). */
  metadata?: Record<string, unknown>;
}

export const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** What `display(value, options)` sends; a TypeError for options that make no sense. */
export function displayItem(value: unknown, options: unknown): DisplayItem {
  const given: DisplayOptions =
    typeof options === "object" && options !== null ? (options as DisplayOptions) : {};
  if (options !== undefined && (typeof options !== "object" || options === null))
    throw new TypeError("display(value, options): options must be an object");
  const { raw, display_id: displayId, update, metadata } = given;
  if (displayId !== undefined && (typeof displayId !== "string" || displayId.length === 0))
    throw new TypeError("display(value, { display_id }): display_id must be a non-empty string");
  if (displayId !== undefined && displayId.length > 256)
    throw new TypeError("display(value, { display_id }): display_id is over 256 characters");
  if (update === true && displayId === undefined)
    throw new TypeError("display(value, { update: true }) needs the display_id to update");
  const record = typeof metadata === "object" && metadata !== null && !Array.isArray(metadata);
  if (metadata !== undefined && (!record || !isPlainData(metadata) || tooLongKey(metadata)))
    throw new TypeError("display(value, { metadata }): metadata must be plain JSON data");
  return {
    action: update === true ? "update" : "display",
    data: displayBundle(value, raw === true),
    ...(metadata === undefined ? {} : { metadata }),
    ...(displayId === undefined ? {} : { display_id: displayId }),
  };
}

/**
 * A MIME bundle for `value`: the bundle itself with `raw`, else what the value's
 * `[Symbol.for("Jupyter.display")]()` returns (the convention of Deno's kernel, so display
 * code written for it works here), always with a `text/plain` rendering. Binary data
 * (a Uint8Array, e.g. PNG bytes) travels base64-encoded, as Jupyter expects; JSON types
 * must hold plain data. Throws a TypeError for a raw bundle that is not one. Runs inside
 * the cell that called `display`, so the method is under the cell's limits.
 */
export function displayBundle(value: unknown, raw: boolean): Record<string, unknown> {
  if (raw) {
    const bundle = bundleFrom(value);
    if (bundle === undefined || Object.keys(bundle).length === 0)
      throw new TypeError("display(bundle, { raw: true }) needs an object of MIME type → data");
    return bundle;
  }
  const plain = util.inspect(value, INSPECT_OPTIONS);
  const method = typeof value === "object" || typeof value === "function" ? lookup(value) : missing;
  if (typeof method !== "function") return { "text/plain": plain };
  const offered = bundleFrom(Reflect.apply(method, value, []));
  return { "text/plain": plain, ...offered };
}

/** `value[Symbol.for("Jupyter.display")]` read along the prototype chain, getters not run. */
function lookup(value: object | null): unknown {
  for (let level = value, depth = 0; level !== null && depth < 64; depth++) {
    if (util.types.isProxy(level)) return missing;
    const found = dataProperty(level, JUPYTER_DISPLAY);
    if (found !== missing) return found;
    level = Reflect.getPrototypeOf(level);
  }
  return missing;
}

/** The valid entries of a bundle-shaped object; undefined when it is not an object. */
function bundleFrom(candidate: unknown): Record<string, unknown> | undefined {
  if (typeof candidate !== "object" || candidate === null || Array.isArray(candidate))
    return undefined;
  if (util.types.isProxy(candidate)) return undefined;
  const out: Record<string, unknown> = {};
  for (const mime of Object.keys(candidate)) {
    if (mime.length > 256 || !MIME_TYPE.test(mime)) continue;
    const data = dataProperty(candidate, mime);
    if (isJsonMime(mime)) {
      if (data !== missing && data !== undefined && isPlainData(data)) out[mime] = data;
    } else if (typeof data === "string") {
      out[mime] = data;
    } else if (ArrayBuffer.isView(data) && !util.types.isDataView(data)) {
      // ArrayBuffer.isView, not instanceof: a Buffer comes from another realm than the cell's.
      out[mime] = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
    }
  }
  return out;
}

/** The wire bounds keys of a bundle's metadata as it bounds MIME types. */
function tooLongKey(object: object): boolean {
  return Object.keys(object).some((key) => key.length > 256);
}
