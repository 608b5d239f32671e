/**
 * How the host prepares a cell without parsing unbounded input on its own event loop:
 * the size limit first (nothing reads a cell over it), then small cells inline — a
 * thread round trip would cost more than their parse — and everything else on a parse
 * thread (see parse-thread.ts).
 */
import { checkCellSize } from "./cell-size.ts";
import { type PreparedCell, type PrepareOptions, prepareCell } from "./index.ts";
import { type ParseJobOptions, ParseThreadPool } from "./parse-thread.ts";

/**
 * Cells up to this many UTF-16 units are prepared inline: a thread round trip costs
 * ~90 µs more than preparing `1 + 1` inline (~20 µs), and preparation costs ~0.4 µs per
 * character, so a cell of this size holds the host's loop for about 50 µs
 * (test/prepare/measure-prepare.ts; 2 shared cores).
 */
export const INLINE_PREPARE_MAX_LENGTH = 128;

export interface PrepareOffLoopOptions extends PrepareOptions, ParseJobOptions {
  /** `limits.cellBytes`: larger cells fail with LIMIT_CELL_SIZE before any parsing. */
  maxBytes: number;
}

let inlineWarm = false;

/**
 * Warms the path a cell like `code` will take, for a host with time to spare before it
 * arrives (it waits for a worker). A small cell is prepared inline: the first inline
 * preparation loads Node's type stripper's WASM (~45 ms, not yet paid by a process whose
 * own modules came from the compile cache) and runs the parser and walkers cold (~6 ms),
 * so one is done now, once. A larger one goes to a parse thread: one is started and
 * loaded (`ParseThreadPool.warm`).
 */
export function warmPreparation(code: string): void {
  if (code.length > INLINE_PREPARE_MAX_LENGTH) {
    sharedParseThreads().warm();
    return;
  }
  if (inlineWarm) return;
  inlineWarm = true;
  try {
    prepareCell("0");
  } catch {
    // Only a warm-up: a real cell meets (and reports) whatever failed here.
  }
}

let shared: ParseThreadPool | undefined;

/** The process's parse threads, created on first use. */
export function sharedParseThreads(): ParseThreadPool {
  shared ??= new ParseThreadPool();
  return shared;
}

/** Stops the process's parse threads (a later cell starts new ones). For tests and shutdown. */
export async function closeSharedParseThreads(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

/**
 * Prepares a cell for a session.
 * @throws CellSizeLimitError over `maxBytes`; otherwise what `prepareCell` or
 *   `ParseThreadPool.prepare` throw.
 */
export async function prepareCellOffLoop(
  code: string,
  options: PrepareOffLoopOptions,
): Promise<PreparedCell> {
  checkCellSize(code, options.maxBytes);
  const { maxBytes: _maxBytes, timeoutMs, signal, ...prepareOptions } = options;
  if (code.length <= INLINE_PREPARE_MAX_LENGTH) return prepareCell(code, prepareOptions);
  return sharedParseThreads().prepare(
    code,
    prepareOptions,
    signal === undefined ? { timeoutMs } : { timeoutMs, signal },
  );
}
