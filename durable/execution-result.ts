/**
 * What a durable execute resolves with, made from a step record: the result with its
 * output, or the recorded user error rethrown. A record that did not run now has its
 * output replayed to `onOutput`, marked `replayed`.
 */
import type { ExecutionResult } from "../src/session/index.ts";
import type { DurableOutputChunk } from "./cell-runner.ts";
import { rebuildError, type StepRecord } from "./step-record.ts";

/** The result of a durable execute: the cell's result plus its output. */
export interface DurableExecutionResult extends ExecutionResult {
  /** The output the cell produced, in order (also for a replayed cell). */
  output: DurableOutputChunk[];
  /** True when the cell did not run now: its result comes from the record. */
  replayed: boolean;
}

/**
 * `shownLive`, for a remote cell this process watched run (groups/remote-watch.ts): how
 * many of its first chunks reached `onOutput` live; those replay marked, the rest are
 * delivered unmarked (this process shows them for the first time).
 */
export function resultFromRecord(
  record: StepRecord,
  replayed: boolean,
  onOutput: ((chunk: DurableOutputChunk) => void) | undefined,
  shownLive?: number,
): DurableExecutionResult {
  const output: DurableOutputChunk[] = replayed
    ? record.output.map((chunk, i) =>
        shownLive === undefined || i < shownLive ? { ...chunk, replayed: true } : chunk,
      )
    : record.output;
  if (replayed && onOutput !== undefined) {
    for (const chunk of output) onOutput(chunk);
  }
  if (!record.ok) throw rebuildError(record.error);
  return { ...record.result, output, replayed };
}
