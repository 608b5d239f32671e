/**
 * MIME bundles as Jupyter defines them, shared by the wire schemas and the worker (which
 * must not load zod on its main thread, so this is a module of its own).
 */

/** A MIME type as Jupyter names them (`text/html`, `image/svg+xml`, `application/vnd.x+json`). */
export const MIME_TYPE = /^[a-z]+\/[\w.+-]+$/;

/** JSON-carrying MIME types hold any data; every other type holds text (binary as base64). */
export function isJsonMime(mime: string): boolean {
  return mime === "application/json" || mime.endsWith("+json");
}
