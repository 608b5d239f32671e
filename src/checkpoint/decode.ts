/**
 * Decoding entry point: validates the payload, runs the restore phases (`decoder.ts`)
 * and reports which names could not be restored.
 */
import type vm from "node:vm";
import { CheckpointError } from "../errors.ts";
import { Decoder } from "./decoder.ts";
import type { ModuleBinding, Uncaptured } from "./encode.ts";
import { invalidCheckpoint, type Payload } from "./format.ts";

export interface DecodeOptions {
  /**
   * Loads a module again for values the encoder recorded as module bindings; `binding`
   * says how (`via: "require"` must be required, not imported, to get the same object).
   */
  loadModule?: (specifier: string, binding: ModuleBinding) => Promise<unknown>;
  /**
   * What `import()` inside re-created functions and closures uses (the worker passes the
   * hook its cells run with); without it such an `import()` throws when called.
   */
  importModuleDynamically?: vm.ScriptOptions["importModuleDynamically"];
}

export interface DecodedNamespace {
  /** Restored top-level values by name; the caller assigns them into its context. */
  values: Map<string, unknown>;
  /** Names not restored: uncaptured when encoded, or failing now (with the reason). */
  failed: Uncaptured[];
}

/** Rebuilds a decoded payload's names in `context`. */
export async function decodePayload(
  payload: Payload,
  context: vm.Context,
  options: DecodeOptions,
): Promise<DecodedNamespace> {
  const decoder = new Decoder(payload.nodes, context, options);
  let decoded: DecodedNamespace;
  try {
    decoded = await decoder.run(payload.names);
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw invalidCheckpoint(error instanceof Error ? error.message : String(error), error);
  }
  for (const entry of payload.uncaptured) {
    decoded.failed.push({ name: entry.name, reason: `not captured: ${entry.reason}` });
  }
  return decoded;
}
