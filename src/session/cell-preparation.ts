/**
 * The host's cell preparation (src/prepare), loaded when a cell first needs it.
 */
import { CapsuleError } from "../errors.ts";

export type CellPreparation = typeof import("../prepare/off-loop.ts");
let preparation: Promise<CellPreparation> | undefined;

/**
 * Loads the cell parser (acorn and the rest of src/prepare) and warms the path a cell like
 * `code` takes (Node's type stripper inline, or a parse thread: see `warmPreparation`;
 * without `code`, the inline one). Not imported with this module: a process that only
 * replays recorded cells (a restarted durable execution before its first unrecorded cell)
 * never parses one. Called where a cell is about to need it while the host waits for a
 * worker anyway: an execute or a durable cell waiting for its worker, and a worker that
 * just became ready. A failed load rejects that cell's execute.
 */
export function loadCellPreparation(code = ""): Promise<CellPreparation> {
  preparation ??= import("../prepare/off-loop.ts").catch((error: unknown) => {
    // Not cached: a later cell tries again (the files may be back, e.g. after `npm ci`).
    preparation = undefined;
    throw new CapsuleError(
      "HOST_LOAD_FAILED",
      `cannot load Capsule's cell preparation (src/prepare): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  });
  return preparation.then((module) => {
    module.warmPreparation(code);
    return module;
  });
}
