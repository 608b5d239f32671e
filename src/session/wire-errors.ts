/**
 * Turns a worker's `error` message into the error class a user catches, keeping the
 * stable code the worker chose.
 */
import {
  CancelledError,
  CapsuleError,
  CheckpointError,
  type ErrorCode,
  ExecutionError,
  MemoryLimitError,
  ResourceLimitError,
  SessionStateError,
  TimeoutError,
} from "../errors.ts";
import type { ErrorMessage } from "../protocol/messages.ts";

export function errorFromWire(message: ErrorMessage): CapsuleError {
  switch (message.code) {
    case "EXECUTION_ERROR":
    case "EXECUTION_SYNTAX_ERROR":
      return new ExecutionError({
        errorName: message.name,
        message: message.message,
        ...(message.stack === undefined ? {} : { stack: message.stack }),
        ...(message.line === undefined ? {} : { line: message.line }),
        ...(message.column === undefined ? {} : { column: message.column }),
      });
    case "LIMIT_TIMEOUT":
      return new TimeoutError(message.message);
    case "EXECUTION_CANCELLED":
      return new CancelledError(message.message);
    case "LIMIT_MEMORY":
      return new MemoryLimitError(message.message);
    case "LIMIT_RESOURCE":
      return new ResourceLimitError(`${message.name}: ${message.message}`);
    case "SESSION_BUSY":
      return new SessionStateError("SESSION_BUSY", message.message);
    case "CHECKPOINT_TOO_LARGE":
    case "CHECKPOINT_VERSION":
    case "CHECKPOINT_INVALID":
    case "CHECKPOINT_CORRUPT":
      return new CheckpointError(message.code, message.message);
    default:
      return new CapsuleError(knownCode(message.code), `${message.name}: ${message.message}`);
  }
}

function knownCode(code: string): ErrorCode {
  return code.startsWith("PROTOCOL_") ? (code as ErrorCode) : "EXECUTION_ERROR";
}
