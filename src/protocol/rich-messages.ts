/**
 * The wire messages for notebook frontends: rich output of a running cell (`display`) and
 * reads of the live namespace (`introspect` / `introspection`). Part of the one union in
 * messages.ts, validated at the boundary like every frame.
 */
import { z } from "zod";
import { isJsonMime, MIME_TYPE } from "./mime.ts";

const seq = z.number().int().nonnegative().optional();
const id = z.string().min(1).max(256);

const mimeType = z.string().max(256).regex(MIME_TYPE);
const mimeBundle = z
  .record(mimeType, z.unknown())
  .refine(
    (bundle) =>
      Object.entries(bundle).every(([mime, data]) => isJsonMime(mime) || typeof data === "string"),
    "a MIME bundle holds text for every non-JSON type",
  );

/**
 * Worker → host: rich output of a running cell, as a MIME bundle. `display` shows `data`
 * (always with `text/plain`); `update` replaces what the earlier display with the same
 * `display_id` shows; `clear` clears the cell's output (with `wait`, once the next output
 * arrives). Counted against the cell's output budget like `output`.
 */
export const DisplaySchema = z.object({
  type: z.literal("display"),
  seq,
  execution_id: id,
  action: z.enum(["display", "update", "clear"]),
  data: mimeBundle,
  metadata: z.record(z.string().max(256), z.unknown()).optional(),
  display_id: id.optional(),
  wait: z.boolean().optional(),
});

/**
 * Host → worker: read the live namespace for completion or inspection. Not a cell: not
 * recorded, never runs user code (names are read through property descriptors), and
 * answered between a cell's awaits, so a running cell that awaits does not delay it.
 * `path` is the property path from the global object (`["config", "server"]` for
 * `config.server.`); `prefix` the partial name being typed after it (complete).
 */
export const IntrospectSchema = z.object({
  type: z.literal("introspect"),
  seq,
  id,
  /** `display`: whether the value at `path` offers a `[Symbol.for("Jupyter.display")]` method (`found`). */
  kind: z.enum(["complete", "inspect", "display"]),
  path: z.array(z.string().max(256)).max(64),
  prefix: z.string().max(256),
});

/** Worker → host: the answer to an `introspect` (`id` is the request's). */
export const IntrospectionSchema = z.object({
  type: z.literal("introspection"),
  seq,
  id,
  /** complete: the matching names, sorted. */
  matches: z.array(z.string().max(256)).max(10_000),
  /** inspect: whether the path names a value, and a readable description of it. */
  found: z.boolean(),
  text: z.string().max(100_000),
});
