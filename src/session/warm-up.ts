/**
 * Warm-up of a fresh worker. A new worker runs its first cells about twice as slowly as
 * its later ones (`bench cold-worker`: `1` takes ~1.2 ms of round trip and ~1.1 ms of the
 * worker's CPU in cells 2–10, ~0.6 and ~0.4 ms from cell 100 on), and waiting does not
 * help: V8 compiles and optimizes a function after enough calls, so what is slow is every
 * part of the path a cell takes that has run few times (the frame codec and the thread
 * hops of the service thread, the vm run and the rendering of the main thread, with the
 * compiler threads busy meanwhile). Only running that path warms it. So a session that
 * waits to be used (a pool's) runs throwaway cells through all of it: prepared, sent over
 * the pipe, run in the realm, rendered, answered.
 *
 * A warm-up cell is marked (`execute.warm_up`): the worker gives it no cell number and
 * leaves `_`, imports and checkpoints as they were, and its code declares, assigns and
 * prints nothing, so the session's user finds the worker as fresh as before. The
 * worker's own idle warm-up (workers/warm-up.ts) comes first: it loads what the first
 * cell would load; this runs the path often enough for V8 to optimize it.
 */
import type { PreparedCell } from "../prepare/index.ts";
import { loadCellPreparation } from "./cell-preparation.ts";
import { type CellSettings, runCell } from "./execution.ts";
import type { WorkerProcess } from "./worker-process.ts";

/**
 * One cell for each way a cell goes through the worker, each with a value to render:
 * synchronous; awaiting a promise (top-level await, a durable step's usual cell); and
 * awaiting a timer, so the main thread goes idle and is woken again, as a cell waiting
 * for I/O is. Without the third, a 10 ms `setTimeout` cell still cost ~0.4 ms more of the
 * worker's CPU after the warm-up than on a warm worker.
 */
const WARM_UP_CODE = ["0", "await 0", "await new Promise((resolve) => setTimeout(resolve, 0)); 0"];

/**
 * Warm-up cells a pool's idle session runs by default. With these three kinds, 60 cells
 * bring a fresh worker's 10 ms cell to a warm worker's round trip and CPU (40 left it
 * ~0.2 ms of CPU short).
 */
export const DEFAULT_WARM_UP_CELLS = 60;

/**
 * A warm-up cell's time limit: far above what a trivial cell takes even on a loaded
 * machine, and short enough that a lease never waits long behind one that hangs.
 */
const WARM_UP_CELL_TIMEOUT_MS = 5_000;

let prepared: Promise<PreparedCell[]> | undefined;

function warmUpCells(): Promise<PreparedCell[]> {
  prepared ??= loadCellPreparation()
    .then(({ prepareCellOffLoop }) =>
      Promise.all(
        WARM_UP_CODE.map((code) =>
          prepareCellOffLoop(code, { maxBytes: code.length, timeoutMs: 1_000 }),
        ),
      ),
    )
    .catch((error: unknown) => {
      // Not cached: the next warm-up tries again (as the next cell would).
      prepared = undefined;
      throw error;
    });
  return prepared;
}

/** A warm-up in flight on one worker. */
export interface WarmUp {
  /** Resolves with the number of cells run, once the last has ended; rejects if one failed. */
  readonly done: Promise<number>;
  /** Cells run so far. */
  readonly ran: number;
  /** Runs no further cell; resolves when the one in flight has ended (~1 ms), failed or not. */
  stop(): Promise<void>;
}

/**
 * Runs up to `cells` warm-up cells on `worker`, one at a time, with ids under `idPrefix`.
 * `settings` are the session's for a cell. Before each cell it asks `inUse()`, and stops
 * when the session has begun something else (an execute that started before this
 * warm-up could send its first cell).
 */
export function startWarmUp(
  worker: WorkerProcess,
  idPrefix: string,
  cells: number,
  settings: CellSettings,
  inUse: () => boolean,
): WarmUp {
  let stopped = false;
  let ran = 0;
  const warmUp: CellSettings = {
    ...settings,
    checkpoint: false,
    warmUp: true,
    // Whatever a worker sends along with a warm-up cell's reply, the chain keeps none of it.
    onCheckpoint: () => {},
  };
  const done = (async () => {
    const code = await warmUpCells();
    while (ran < cells && !stopped && !inUse()) {
      const cell = code[ran % code.length];
      if (cell === undefined) break;
      await runCell(
        worker,
        `${idPrefix}:warm-up:${ran}`,
        cell,
        { timeoutMs: WARM_UP_CELL_TIMEOUT_MS },
        warmUp,
      );
      ran++;
    }
    return ran;
  })();
  return {
    done,
    get ran() {
      return ran;
    },
    stop() {
      stopped = true;
      return done.then(
        () => undefined,
        () => undefined,
      );
    },
  };
}
