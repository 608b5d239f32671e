/**
 * Rich results: after a cell, the kernel asks the session (a peek) whether the last
 * result `_` offers a MIME bundle through `[Symbol.for("Jupyter.display")]()`, the
 * convention Deno's kernel uses, so display code written for it works here. Calling
 * that method is the point of the convention, so unlike completion this probe does run
 * user code: the method the value itself provides, nothing else. Sent as source, so it
 * is self-contained.
 */

/** The MIME types a bundle may carry, and what each must hold. */
export const MIME_TYPES = [
  "text/plain",
  "text/html",
  "text/markdown",
  "text/latex",
  "image/png",
  "image/jpeg",
  "image/svg+xml",
  "application/json",
] as const;

export function displayProbe(value: unknown): { [mime: string]: unknown } | null {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return null;
  const method = (value as { [key: symbol]: unknown })[Symbol.for("Jupyter.display")];
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
