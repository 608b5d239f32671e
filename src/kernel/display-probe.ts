/**
 * Rich results: after a cell, the kernel asks the session (a peek) whether the last
 * result `_` offers a MIME bundle through `[Symbol.for("Jupyter.display")]()`, the
 * convention Deno's kernel uses, so display code written for it works here. Calling
 * that method is the point of the convention, so unlike completion this probe does run
 * user code: the method the value itself provides, nothing else (no getter, no proxy
 * trap). Sent as source, so it is self-contained. It is a peek cell, not an `introspect`
 * request, because the method is user code: it runs under a cell's limits and interrupt.
 */

export function displayProbe(value: unknown): { [mime: string]: unknown } | null {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return null;
  // The method is found through descriptors, along the prototype chain: a getter or a
  // proxy trap is not the method the convention asks for, and is not run.
  const util = (globalThis as { require?: (id: string) => unknown }).require?.("node:util") as
    | { types: { isProxy(value: unknown): boolean } }
    | undefined;
  if (util === undefined) return null;
  let method: unknown;
  for (let level: object | null = value, depth = 0; level !== null && depth < 64; depth++) {
    if (util.types.isProxy(level)) return null;
    const descriptor = Object.getOwnPropertyDescriptor(level, Symbol.for("Jupyter.display"));
    if (descriptor !== undefined) {
      method = "value" in descriptor ? descriptor.value : undefined;
      break;
    }
    level = Object.getPrototypeOf(level);
  }
  if (typeof method !== "function") return null;
  const bundle: unknown = method.call(value);
  if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) return null;
  const out: { [mime: string]: unknown } = {};
  for (const [mime, data] of Object.entries(bundle)) {
    if (!/^[a-z]+\/[\w.+-]+$/.test(mime)) continue;
    // Binary images travel base64-encoded, as Jupyter expects.
    // ArrayBuffer.isView, not instanceof: a Buffer comes from another realm than the cell's.
    if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
      let binary = "";
      for (const byte of new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) {
        binary += String.fromCharCode(byte);
      }
      out[mime] = btoa(binary);
    } else if (mime === "application/json" || typeof data === "string") {
      out[mime] = data;
    }
  }
  return Object.keys(out).length === 0 ? null : out;
}
