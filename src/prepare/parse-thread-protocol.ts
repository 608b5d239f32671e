/**
 * Messages between the host and its parse threads. The threads run only Capsule's own
 * preparation code on the cell's text (they never run the cell), so they are trusted like
 * the host; replies are still checked for the job they answer.
 */
import { ExecutionError } from "../errors.ts";
import type { PreparedCell, PrepareOptions } from "./index.ts";

export interface ParseRequest {
  id: number;
  code: string;
  options: PrepareOptions;
}

/** What makes an ExecutionError from preparation, as plain data that crosses threads. */
export interface PreparationErrorFields {
  errorName: string;
  message: string;
  line?: number;
  column?: number;
  code?: "EXECUTION_PROTECTED_NAME";
}

export type ParseReply =
  | { id: number; ok: true; prepared: PreparedCell }
  | { id: number; ok: false; error: PreparationErrorFields }
  /** Preparation itself failed (a bug, not the cell's fault): its error, for the host to rethrow. */
  | { id: number; ok: false; failure: { name: string; message: string; stack?: string } };

/**
 * The fields of an error `prepareCell` threw. Its errors carry no stack of their own, so
 * `userStack` is `name: message` and the message is recovered from it.
 */
export function preparationErrorFields(error: ExecutionError): PreparationErrorFields {
  const prefix = `${error.errorName}: `;
  const message = error.userStack.startsWith(prefix)
    ? error.userStack.slice(prefix.length)
    : error.userStack;
  const fields: PreparationErrorFields = { errorName: error.errorName, message };
  if (error.line !== undefined) fields.line = error.line;
  if (error.column !== undefined) fields.column = error.column;
  if (error.code === "EXECUTION_PROTECTED_NAME") fields.code = error.code;
  return fields;
}

export function preparationError(fields: PreparationErrorFields): ExecutionError {
  return new ExecutionError(fields);
}
