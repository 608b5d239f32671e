/**
 * Whether REPL input is a whole cell or needs more lines. The cell is parsed with the
 * project's own parser (`prepareCell`, acorn-based, TypeScript-aware), the same one that
 * runs it: input is incomplete when parsing stops at the end of the input (an open
 * bracket, a dangling operator) or inside a construct that may span lines (a template
 * literal, a block comment). Any other syntax error is complete: it is reported at once.
 */
import { ExecutionError } from "../errors.ts";
import { prepareCell } from "../prepare/index.ts";

const OPEN_CONSTRUCTS = /^SyntaxError: Unterminated (template|comment|regular expression)/;

/** Offset in `code` of a 1-based line and column. */
function offsetOf(code: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = code.indexOf("\n", offset);
    if (next === -1) return code.length;
    offset = next + 1;
  }
  return offset + column - 1;
}

export type CellCheck =
  | { kind: "complete" }
  | { kind: "incomplete" }
  | { kind: "invalid"; error: ExecutionError };

export function checkCell(code: string): CellCheck {
  try {
    prepareCell(code);
    return { kind: "complete" };
  } catch (error) {
    // A complete cell that declares a protected name: refused as it stands, like a syntax error.
    if (error instanceof ExecutionError && error.code === "EXECUTION_PROTECTED_NAME")
      return { kind: "invalid", error };
    if (!(error instanceof ExecutionError) || error.code !== "EXECUTION_SYNTAX_ERROR") throw error;
    if (OPEN_CONSTRUCTS.test(error.message)) return { kind: "incomplete" };
    if (error.line !== undefined) {
      const at = offsetOf(code, error.line, error.column ?? 1);
      if (at >= code.trimEnd().length) return { kind: "incomplete" };
    }
    return { kind: "invalid", error };
  }
}
