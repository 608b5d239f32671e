/** Errors of the FIX example, in Capsule's one hierarchy (stable string `code`s). */
import { CapsuleError, type CapsuleErrorOptions, type ErrorCode } from "../../src/errors.ts";

export type FixErrorCode = Extract<ErrorCode, `FIX_${string}`>;

/**
 * FIX_INVALID_FIELD: a message cannot be encoded as asked.
 * FIX_LOGON_ATTEMPTS_EXHAUSTED: an initiator gave up after its bounded logon attempts.
 * FIX_SESSION_ENDED: the session ended (logout, sequence too low, peer silent).
 */
export class FixError extends CapsuleError {
  override name = "FixError";
  declare readonly code: FixErrorCode;

  constructor(code: FixErrorCode, message: string, options: CapsuleErrorOptions = {}) {
    super(code, message, options);
  }
}
