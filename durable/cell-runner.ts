/**
 * Runs one cell on a live session and turns its outcome into a step record: the result
 * or the user error, the output it streamed, and the checkpoint after it. Infrastructure
 * failures (a crashed worker, a closed pool) are thrown, not recorded, so the step is
 * retried or left unrecorded.
 */
import { CheckpointError, type ErrorCode } from "../src/errors.ts";
import type { ExecuteOptions, OutputChunk, Session } from "../src/session/index.ts";
import {
  checkpointDelta,
  isUserFailure,
  recordableResult,
  recordError,
  type StepRecord,
} from "./step-record.ts";

/** Per-cell options of a durable execute. Limits and permissions are the pool's. */
export type DurableExecuteOptions = Pick<
  ExecuteOptions,
  "onInput" | "signal" | "timeoutMs" | "mode" | "capabilities"
> & {
  /**
   * A question (`input()`) of this cell not answered within this many ms fails with
   * INPUT_TIMEOUT. Default: it waits for ever, across restarts (see human-input.ts).
   */
  inputTimeoutMs?: number;
  /**
   * Called for each piece of output, in order. For a cell recorded before a resume,
   * its recorded output is replayed once with `replayed: true`.
   */
  onOutput?: (chunk: DurableOutputChunk) => void;
};

export interface DurableOutputChunk extends OutputChunk {
  /** Set when the chunk comes from a cell's record rather than a running cell. */
  replayed?: boolean;
}

export async function runCell(
  session: Session,
  code: string,
  options: DurableExecuteOptions,
): Promise<StepRecord> {
  const output: OutputChunk[] = [];
  const { onOutput, inputTimeoutMs: _answeredByTheCaller, ...rest } = options;
  const executeOptions: ExecuteOptions = {
    ...rest,
    // A durable question may wait for days: the cell's limit is its own time.
    inputPausesLimit: true,
    onOutput: (chunk) => {
      output.push(chunk);
      onOutput?.(chunk);
    },
  };
  // The session's chain now is the previous recorded cell's: the record keeps the difference.
  const before = session.lastCheckpoint();
  try {
    const result = await session.execute(code, executeOptions);
    if (result.checkpointError !== undefined) {
      // Recording the result without the cell's changes would lose them on a resume
      // (the namespace would silently lack them): the step fails instead, and the next
      // cell starts again from the previous recorded one.
      const { code: failure, message } = result.checkpointError;
      throw new CheckpointError(
        failure.startsWith("CHECKPOINT_") ? (failure as ErrorCode) : "CHECKPOINT_INVALID",
        `the checkpoint after the cell failed, so the cell is not recorded: ${message}`,
      );
    }
    const checkpoint = checkpointDelta(before, session.lastCheckpoint());
    return {
      ok: true,
      code,
      result: recordableResult(result),
      output,
      ...(checkpoint === undefined ? {} : { checkpoint }),
    };
  } catch (error) {
    if (!isUserFailure(error)) throw error;
    // A failed cell may have changed names before it threw; the worker's error carries
    // the checkpoint of those changes, so a resumed session matches the live one.
    const checkpoint = checkpointDelta(before, session.lastCheckpoint());
    return {
      ok: false,
      code,
      error: recordError(error),
      output,
      ...(checkpoint === undefined ? {} : { checkpoint }),
    };
  }
}
