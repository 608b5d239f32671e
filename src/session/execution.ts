/**
 * One cell in flight on a worker: sends the prepared cell, streams its output, answers
 * its `input()` calls, and settles with its result (after the checkpoint that follows
 * it) or its error. The worker enforces the time limit and cancels — its service thread
 * interrupts a cell wherever it is, keeping what the cell did — so a cancel is one frame.
 * The host only backs it up by ending a worker that does not answer in time (a cell
 * stuck in a long native call, or spinning in a promise callback), which then restarts
 * from its last checkpoint.
 */
import { CancelledError, CapsuleError, TimeoutError } from "../errors.ts";
import type { PreparedCell } from "../prepare/index.ts";
import type { CheckpointPayload } from "../protocol/messages.ts";
import { PausableDeadline } from "../protocol/pausable-deadline.ts";
import { type Capabilities, runCapabilityCall } from "./capabilities.ts";
import { displayChunk } from "./display.ts";
import type { ExecuteOptions, ExecutionResult, OutputChunk } from "./options.ts";
import { errorFromWire } from "./wire-errors.ts";
import type { WorkerProcess } from "./worker-process.ts";

/** What the session supplies to a cell run. */
export interface CellSettings {
  timeoutMs: number;
  /** Extra time the worker gets to report a timeout or cancel before the host kills it. */
  stopGraceMs: number;
  /** Ask the worker for the checkpoint after a successful cell (it rides on the result). */
  checkpoint: boolean;
  /** What this cell may call on the host (the session's, with the execute's over them). */
  capabilities: Capabilities;
  onCheckpoint(checkpoint: CheckpointPayload): void;
  onStrayOutput(chunk: OutputChunk): void;
  /** The worker is alive but cannot go on (out of file descriptors): replace it. */
  onUnfitWorker(): void;
  /** A warm-up cell (see warm-up.ts), not one of the session's. */
  warmUp?: boolean;
}

export function runCell(
  worker: WorkerProcess,
  id: string,
  prepared: PreparedCell,
  options: ExecuteOptions,
  settings: CellSettings,
): Promise<ExecutionResult> {
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  return new Promise<ExecutionResult>((resolve, reject) => {
    let forced: CapsuleError | undefined;
    let backstop: ReturnType<typeof setTimeout> | undefined;
    let cancelRequested = false;
    // The mode decides how a cell is watched. A blocking cell keeps the liveness watch (the
    // worker's service thread heartbeats while it blocks); an event-loop cell is guarded
    // by its deadline alone, as a starved worker's heartbeats are late, not missing.
    const onEventLoop = prepared.mode !== "blocking_sync";
    if (onEventLoop) worker.watchLiveness(false);
    const settle = (outcome: { result: ExecutionResult } | { error: CapsuleError }) => {
      if (onEventLoop) worker.watchLiveness(true);
      clearTimeout(backstop);
      deadline.clear();
      options.signal?.removeEventListener("abort", onAbort);
      if ("result" in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    // The worker enforces the limit itself; this only catches a worker that cannot
    // (a promise callback spinning forever), by ending the process.
    const killFor = (error: CapsuleError) => {
      forced = error;
      worker.kill("SIGKILL");
    };
    // With `inputPausesLimit`, waiting for an `input()` answer does not count, as in the
    // worker (see PausableDeadline).
    const deadline = new PausableDeadline(timeoutMs + settings.stopGraceMs, () =>
      killFor(
        new TimeoutError(`execution timed out after ${timeoutMs} ms; the worker was restarted`),
      ),
    );
    const onAbort = () => {
      worker.send({ type: "cancel", execution_id: id });
      cancelRequested = true;
      backstop ??= setTimeout(
        () =>
          killFor(
            new CancelledError("execution cancelled; the worker did not stop and was restarted"),
          ),
        settings.stopGraceMs,
      );
    };
    if (options.signal?.aborted) {
      settle({ error: new CancelledError() });
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });

    worker.request(
      id,
      {
        type: "execute",
        id,
        code: prepared.source,
        mode: prepared.mode,
        async: prepared.async,
        declared: prepared.declared,
        free: prepared.free,
        assigned: prepared.assigned,
        imports: prepared.imports,
        bounded: prepared.bounded,
        timeout_ms: timeoutMs,
        checkpoint: settings.checkpoint,
        capabilities: Object.keys(settings.capabilities),
        ...(options.inputPausesLimit === true ? { input_pauses_limit: true } : {}),
        ...(settings.warmUp === true ? { warm_up: true } : {}),
      },
      {
        onMessage: (message) => {
          switch (message.type) {
            case "output":
              options.onOutput?.({
                stream: message.stream,
                data: message.data,
                ...(message.truncated ? { truncated: true } : {}),
              });
              return false;
            case "display":
              options.onOutput?.(displayChunk(message));
              return false;
            case "input":
              if (options.inputPausesLimit === true) deadline.pause(message.id);
              void answerInput(worker, message.id, message.prompt, options).finally(() =>
                deadline.resume(message.id),
              );
              return false;
            case "capability_call":
              void runCapabilityCall(message, settings.capabilities).then((reply) =>
                worker.send({ type: "capability_result", call_id: message.id, ...reply }),
              );
              return false;
            case "result":
              if (message.checkpoint !== undefined) settings.onCheckpoint(message.checkpoint);
              // A checkpoint that failed after a good result does not fail the cell.
              if (message.checkpoint_error !== undefined) {
                settings.onStrayOutput({
                  stream: "stderr",
                  data: `[capsule: checkpoint failed: ${message.checkpoint_error.message}]\n`,
                });
              }
              settle({
                result: {
                  value: message.has_value ? message.value : undefined,
                  hasValue: message.has_value,
                  display: message.display,
                  mode: message.mode,
                  executionTime: message.execution_time,
                  ...(message.checkpoint_error === undefined
                    ? {}
                    : { checkpointError: message.checkpoint_error }),
                },
              });
              return true;
            case "error": {
              if (message.checkpoint !== undefined) settings.onCheckpoint(message.checkpoint);
              const error = errorFromWire(message);
              settle({ error });
              if (error.code === "LIMIT_RESOURCE") settings.onUnfitWorker();
              return true;
            }
            default:
              return false;
          }
        },
        onExit: (error) =>
          settle({
            error:
              forced ??
              (cancelRequested
                ? new CancelledError(
                    "execution cancelled; the worker was restarted from its last checkpoint",
                    {
                      cause: error,
                    },
                  )
                : error),
          }),
      },
    );
  });
}

async function answerInput(
  worker: WorkerProcess,
  inputId: string,
  prompt: string,
  options: ExecuteOptions,
): Promise<void> {
  if (options.onInput === undefined) {
    worker.send({
      type: "input_response",
      input_id: inputId,
      value: "no input handler: pass onInput to execute()",
      cancelled: true,
    });
    return;
  }
  try {
    const value = await options.onInput(prompt);
    worker.send({ type: "input_response", input_id: inputId, value: String(value) });
  } catch (error) {
    worker.send({
      type: "input_response",
      input_id: inputId,
      value: `input failed: ${String(error)}`,
      cancelled: true,
      ...(error instanceof CapsuleError ? { code: error.code } : {}),
    });
  }
}
