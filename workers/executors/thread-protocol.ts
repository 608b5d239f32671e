/**
 * Messages between the session worker's main thread and the thread that runs a blocking
 * cell: one typed union per direction, plus the layout of the shared buffer that lets
 * a synchronous `input()` block only that thread.
 */

import type { WireErrorFields } from "../errors.ts";
import type { RenderedResult } from "../render.ts";
import type { CellPlan } from "./plan.ts";

export interface ThreadRun {
  type: "run";
  plan: CellPlan;
  filename: string;
  /** Checkpoint-codec bytes of the session's namespace, copied for the cell. */
  namespace: Uint8Array;
  /** Where `require` and `import` in the cell resolve packages from. */
  moduleRoot: string;
  input: SharedArrayBuffer;
}

export type FromThread =
  | { type: "output"; stream: "stdout" | "stderr" | "display"; data: string }
  | { type: "input"; prompt: string }
  | {
      type: "done";
      result: RenderedResult;
      /** Checkpoint-codec bytes of the names to merge back into the namespace. */
      changes: Uint8Array;
      uncaptured: { name: string; reason: string }[];
    }
  | {
      type: "failed";
      error: WireErrorFields;
      /** What the cell changed before it threw (merged, as in a notebook); absent if stopped. */
      changes?: Uint8Array;
      uncaptured?: { name: string; reason: string }[];
    };

/** Int32 slots at the start of the input buffer. */
export const INPUT_STATE = 0;
export const INPUT_LENGTH = 1;
export const INPUT_HEADER_BYTES = 8;
/** Room for one answer; a longer answer is cut to this many bytes. */
export const INPUT_BUFFER_BYTES = INPUT_HEADER_BYTES + 1024 * 1024;

export const InputState = { waiting: 0, answered: 1, cancelled: 2 } as const;
