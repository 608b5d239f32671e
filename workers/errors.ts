/**
 * Turns whatever user code threw into the fields of a wire `error` message: the user's
 * error name and message, a stack of the user's own frames only, and a Capsule code; and
 * Capsule's own failures (a checkpoint too large, a cancelled `input()`) into theirs.
 */
import { util } from "../src/builtins.ts";
import { CapsuleError } from "../src/errors.ts";
import type { MessageOf } from "../src/protocol/messages.ts";

export interface WireErrorFields {
  code: string;
  name: string;
  message: string;
  stack?: string;
  line?: number;
  column?: number;
}

/** Thrown inside the worker to stop a cell; carries the wire code it reports as. */
type InterruptCode = "EXECUTION_CANCELLED" | "LIMIT_TIMEOUT";

export class CellInterrupt extends Error {
  readonly code: InterruptCode;
  constructor(code: InterruptCode, message: string) {
    super(message);
    this.code = code;
  }
}

const INTERRUPT_NAMES: Record<InterruptCode, string> = {
  EXECUTION_CANCELLED: "CancelledError",
  LIMIT_TIMEOUT: "TimeoutError",
};

const CELL_FILE = /(?:^|[\s(/])(cell-\d+\.js):(\d+):(\d+)/;

/** `cellPrefix` is the directory part of cell filenames, removed so stacks read `cell-3.js:2:5`. */
export function describeThrown(thrown: unknown, cellPrefix: string): WireErrorFields {
  if (thrown instanceof CellInterrupt) {
    return { code: thrown.code, name: INTERRUPT_NAMES[thrown.code], message: thrown.message };
  }
  if (!isErrorLike(thrown)) {
    const message = util.inspect(thrown, { depth: 2, breakLength: Infinity });
    return { code: "EXECUTION_ERROR", name: "Uncaught", message, stack: `Uncaught ${message}` };
  }
  const nodeCode = (thrown as { code?: unknown }).code;
  if (nodeCode === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
    return { code: "LIMIT_TIMEOUT", name: "TimeoutError", message: "execution timed out" };
  }
  if (nodeCode === "ERR_SCRIPT_EXECUTION_INTERRUPTED") {
    return { code: "EXECUTION_CANCELLED", name: "CancelledError", message: "execution cancelled" };
  }
  const name = String(thrown.name ?? "Error");
  const message = String(thrown.message ?? "");
  const stack = userStack(String(thrown.stack ?? ""), cellPrefix, name, message);
  const location = locate(String(thrown.stack ?? ""), cellPrefix);
  const code =
    nodeCode === "EMFILE" || nodeCode === "ENFILE"
      ? "LIMIT_RESOURCE"
      : name === "SyntaxError"
        ? "EXECUTION_SYNTAX_ERROR"
        : "EXECUTION_ERROR";
  return { code, name, message, stack, ...location };
}

function isErrorLike(
  value: unknown,
): value is { name?: unknown; message?: unknown; stack?: unknown } {
  return (
    util.types.isNativeError(value) ||
    (typeof value === "object" && value !== null && "stack" in value && "message" in value)
  );
}

/** Keeps the header lines and the frames that point into cells; drops Capsule's and Node's. */
function userStack(stack: string, cellPrefix: string, name: string, message: string): string {
  const cleaned = stack.split(cellPrefix).join("");
  const lines = cleaned.split("\n");
  const firstFrame = lines.findIndex((line) => /^\s+at /.test(line));
  const header = firstFrame === -1 ? lines : lines.slice(0, firstFrame);
  const frames =
    firstFrame === -1 ? [] : lines.slice(firstFrame).filter((line) => CELL_FILE.test(line));
  const headerText = header.join("\n").trim() || `${name}: ${message}`;
  return [headerText, ...frames].join("\n");
}

function locate(stack: string, cellPrefix: string): { line?: number; column?: number } {
  const match = CELL_FILE.exec(stack.split(cellPrefix).join(""));
  if (match === null) return {};
  return { line: Number(match[2]), column: Number(match[3]) };
}

/** Capsule's own failures (a checkpoint too large, a malformed restore) keep their code. */
export function describeCapsuleError(thrown: unknown): WireErrorFields {
  if (thrown instanceof CapsuleError)
    return { code: thrown.code, name: thrown.name, message: thrown.message };
  return describeThrown(thrown, "");
}

/** Why `input()` failed, with the host's code (e.g. INPUT_TIMEOUT) when it sent one. */
export function inputFailure(reason: string, code: string | undefined): Error {
  const error = new Error(reason || "input cancelled by the host");
  if (code !== undefined) Object.defineProperty(error, "code", { value: code, enumerable: true });
  return error;
}

export function errorMessage(executionId: string, fields: WireErrorFields): MessageOf<"error"> {
  return { type: "error", execution_id: executionId, ...fields };
}
