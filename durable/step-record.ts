/**
 * What a durable execute step records: the execution's result (or the user error it
 * ended with), the output it produced, and the session checkpoint taken after the cell.
 *
 * The SDK stores values as JSON (its codec base64-encodes `JSON.stringify(value)`), so a
 * record is plain JSON: checkpoint links are base64 strings, errors are fields.
 *
 * A record holds only the checkpoint links its cell added to the session's chain (often
 * one small increment, or none), not the whole chain: the namespace after cell k is the
 * links of cells back to the last `rebase`, in order. Recording the whole chain each time
 * made the store grow with cells × namespace size.
 */
import {
  CancelledError,
  CapsuleError,
  CheckpointError,
  type ErrorCode,
  ExecutionError,
  MemoryLimitError,
  PoisonCellError,
  type PoisonCellFields,
  ProtocolError,
  ResourceLimitError,
  SessionStateError,
  StoreError,
  TimeoutError,
  WorkerCrashedError,
} from "../src/errors.ts";
import type { ExecutionResult, OutputChunk, SessionCheckpoint } from "../src/session/index.ts";

/**
 * The checkpoint after a cell, relative to the one after the session's previous recorded
 * cell: with `rebase` the links are the whole chain (a full checkpoint first); without,
 * they extend the previous chain. `uncaptured` and `version` describe the result.
 */
export interface RecordedCheckpoint {
  rebase: boolean;
  links: string[];
  version: number;
  uncaptured: { name: string; reason: string }[];
}

/** A user-level failure, recorded so that it is not retried (rethrown on replay). */
export interface RecordedError {
  code: string;
  /** Capsule error class name, e.g. `ExecutionError`. */
  className: string;
  message: string;
  /** For ExecutionError: the user's error class, stack and position. */
  errorName?: string;
  stack?: string;
  line?: number;
  column?: number;
  /** For PoisonCellError: which cell it is. */
  poison?: PoisonCellFields;
}

interface RecordBase {
  /** The cell's source, for inspection (`capsule show`). */
  code: string;
  output: OutputChunk[];
  /** The namespace after the cell (see RecordedCheckpoint); absent when the session never had one. */
  checkpoint?: RecordedCheckpoint;
}

export interface RecordedSuccess extends RecordBase {
  ok: true;
  result: ExecutionResult;
}

export interface RecordedFailure extends RecordBase {
  ok: false;
  error: RecordedError;
}

export type StepRecord = RecordedSuccess | RecordedFailure;

/**
 * What a cell added to the session's chain: `before` is the chain when the cell started
 * (the previous recorded cell's), `after` the chain once it ended. Links are compared by
 * identity: a chain that still starts with the same links was extended, anything else
 * (a full checkpoint after many increments, after a failed cell) is a rebase.
 */
export function checkpointDelta(
  before: SessionCheckpoint | undefined,
  after: SessionCheckpoint | undefined,
): RecordedCheckpoint | undefined {
  if (after === undefined) return undefined;
  const extended =
    before !== undefined &&
    before.chain.length > 0 &&
    after.chain.length >= before.chain.length &&
    before.chain.every((link, i) => after.chain[i] === link);
  const links = extended ? after.chain.slice(before.chain.length) : after.chain;
  return {
    rebase: !extended,
    links: links.map((link) => Buffer.from(link).toString("base64")),
    version: after.version,
    uncaptured: after.uncaptured,
  };
}

/** The checkpoint after a recorded cell, from the one after the previous recorded cell. */
export function applyDelta(
  previous: SessionCheckpoint | undefined,
  recorded: RecordedCheckpoint,
): SessionCheckpoint {
  const links = recorded.links.map((link) => new Uint8Array(Buffer.from(link, "base64")));
  if (!recorded.rebase && previous === undefined && links.length > 0) {
    throw new CapsuleError(
      "STORE_CORRUPT",
      "a recorded checkpoint extends a chain whose start is not in the record",
    );
  }
  const chain = recorded.rebase ? links : [...(previous?.chain ?? []), ...links];
  return {
    version: recorded.version,
    chain,
    uncaptured: recorded.uncaptured,
    bytes: chain.reduce((total, link) => total + link.byteLength, 0),
  };
}

/**
 * The recordable form of a result. JSON cannot hold every plain value (bigint, undefined
 * inside arrays…): such a value is recorded as its display only, with `hasValue: false`,
 * rather than failing the step after the cell already ran.
 */
export function recordableResult(result: ExecutionResult): ExecutionResult {
  if (!result.hasValue) return { ...result, value: undefined };
  try {
    const text = JSON.stringify(result.value);
    if (text === undefined && result.value !== undefined) throw new TypeError("not JSON");
    return result;
  } catch {
    return { ...result, value: undefined, hasValue: false };
  }
}

/** Errors that are the cell's own outcome: recorded, never retried by Capsule. */
export function isUserFailure(error: unknown): error is CapsuleError {
  return (
    error instanceof ExecutionError ||
    error instanceof TimeoutError ||
    error instanceof CancelledError ||
    error instanceof MemoryLimitError ||
    error instanceof ResourceLimitError ||
    (error instanceof CapsuleError && error.code === "INPUT_UNAVAILABLE")
  );
}

export function recordError(error: CapsuleError): RecordedError {
  const recorded: RecordedError = {
    code: error.code,
    className: error.name,
    message: error.message,
  };
  if (error instanceof ExecutionError) {
    recorded.errorName = error.errorName;
    recorded.stack = error.userStack;
    if (error.line !== undefined) recorded.line = error.line;
    if (error.column !== undefined) recorded.column = error.column;
  }
  if (error instanceof PoisonCellError) {
    const { session, step, source, kills } = error;
    recorded.poison = { session, step, source, kills };
  }
  return recorded;
}

// Classes whose instances are fully described by code and message.
const CODED_CLASSES: Record<string, new (code: ErrorCode, message: string) => CapsuleError> = {
  CheckpointError,
  ProtocolError,
  SessionStateError,
  StoreError,
};

/** An error equivalent to the recorded one (same class, code and message). */
export function rebuildError(recorded: RecordedError): CapsuleError {
  switch (recorded.className) {
    case "ExecutionError": {
      const errorName = recorded.errorName ?? "Error";
      const prefix = `${errorName}: `;
      const message = recorded.message.startsWith(prefix)
        ? recorded.message.slice(prefix.length).replace(/ \(line \d+, column \d+\)$/, "")
        : recorded.message;
      return new ExecutionError({
        errorName,
        message,
        // The one code more specific than the error name implies (see ExecutionError).
        ...(recorded.code === "EXECUTION_PROTECTED_NAME" ? { code: recorded.code } : {}),
        ...(recorded.stack === undefined ? {} : { stack: recorded.stack }),
        ...(recorded.line === undefined ? {} : { line: recorded.line }),
        ...(recorded.column === undefined ? {} : { column: recorded.column }),
      });
    }
    case "TimeoutError":
      return new TimeoutError(recorded.message);
    case "CancelledError":
      return new CancelledError(recorded.message);
    case "MemoryLimitError":
      return new MemoryLimitError(recorded.message);
    case "ResourceLimitError":
      return new ResourceLimitError(recorded.message);
    case "WorkerCrashedError":
      return new WorkerCrashedError(recorded.message);
    case "PoisonCellError":
      if (recorded.poison !== undefined) return new PoisonCellError(recorded.poison);
      return new CapsuleError("POISON_CELL", recorded.message);
    default: {
      const Coded = CODED_CLASSES[recorded.className];
      if (Coded !== undefined) return new Coded(recorded.code as ErrorCode, recorded.message);
      return new CapsuleError(recorded.code as ErrorCode, recorded.message);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Narrows a decoded promise value to a step record. */
export function isStepRecord(value: unknown): value is StepRecord {
  if (!isObject(value) || typeof value.ok !== "boolean" || !Array.isArray(value.output)) {
    return false;
  }
  const checkpoint = value.checkpoint;
  if (
    checkpoint !== undefined &&
    !(
      isObject(checkpoint) &&
      typeof checkpoint.rebase === "boolean" &&
      Array.isArray(checkpoint.links)
    )
  ) {
    return false;
  }
  return value.ok ? isObject(value.result) : isObject(value.error);
}
