/**
 * Capsule errors across the SDK's codec. The SDK records a rejection that is an Error
 * as its name, message and stack only, so a CapsuleError leaving a durable function or
 * step would lose its `code` (and ExecutionError its position, PoisonCellError its cell)
 * on the way to `handle.result()`, in this process and after a restart alike.
 *
 * The codec keeps one more field, for AggregateError only: `errors`, as JSON. So a
 * CapsuleError is carried as an AggregateError with the same name, message and stack
 * whose single entry is the error's RecordedError (step-record.ts); the reading side
 * rebuilds the original class from it. Any other SDK client still sees an Error with
 * the right name and message.
 */
import { CapsuleError, WorkerCrashedError } from "../src/errors.ts";
import { type RecordedError, rebuildError, recordError } from "./step-record.ts";

/** A CapsuleError in the one Error shape whose fields the SDK codec keeps. */
export class CarriedCapsuleError extends AggregateError {
  constructor(error: CapsuleError) {
    super([recordError(error)], error.message);
    this.name = error.name;
    if (error.stack !== undefined) this.stack = error.stack;
  }
}

/** What to throw out of a durable function or step so that the error is recorded whole. */
export function carryError(error: unknown): unknown {
  return error instanceof CapsuleError ? new CarriedCapsuleError(error) : error;
}

function isRecordedError(value: unknown): value is RecordedError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof Reflect.get(value, "code") === "string" &&
    typeof Reflect.get(value, "className") === "string" &&
    typeof Reflect.get(value, "message") === "string"
  );
}

/**
 * The CapsuleError a recorded rejection carries (as thrown in this process, or as the
 * SDK decoded it from the store), or `reason` itself when it carries none.
 */
export function uncarryError(reason: unknown): unknown {
  if (!(reason instanceof AggregateError) || reason.errors.length !== 1) return reason;
  const [recorded] = reason.errors;
  if (!isRecordedError(recorded) || recorded.className !== reason.name) return reason;
  const rebuilt = rebuildError(recorded);
  if (reason.stack !== undefined) rebuilt.stack = reason.stack;
  return rebuilt;
}

/**
 * The error a failed durable step rejects with: a carried CapsuleError rebuilt, or a
 * worker crash that outlived its retries (thrown uncarried so the SDK's retry policy
 * sees it: it comes back from the codec as a plain Error with only name and message).
 */
export function rebuildStepRejection(reason: unknown): unknown {
  if (reason instanceof Error && !(reason instanceof CapsuleError)) {
    if (reason.name === "WorkerCrashedError") return new WorkerCrashedError(reason.message);
  }
  return uncarryError(reason);
}
