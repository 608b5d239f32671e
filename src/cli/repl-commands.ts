/**
 * The REPL's dot commands that do not touch the prompt: the help text, telling a
 * command from code, and `.save` (every recorded cell of the session, also those from
 * before a crash, since they are read from the store).
 */
import fs from "node:fs";
import type { Capsule } from "../../durable/index.ts";
import { isCapsuleError } from "../errors.ts";

export const HELP = `.break    Leave a multi-line cell unfinished
.editor   Enter editor mode: a multi-line cell, Ctrl-D runs it, Ctrl-C cancels
.exit     Exit the REPL (the session stays in the store)
.help     Print this help
.load     Run a file as one cell: .load FILE
.save     Save every recorded cell of this session to a file: .save FILE

Tab completes names from the live namespace; up/down walk this session's history.
_ is the last result, _error the last error.
`;

/** A dot command, as Node's REPL tells them from code: `.name`, not a number like `.5`. */
export function isCommand(line: string): boolean {
  return /^\.[A-Za-z]/.test(line.trim());
}

/** Writes the session's recorded cells to `file`, one blank line between cells. */
export async function saveCells(capsule: Capsule, session: string, file: string): Promise<void> {
  let cells: string[] = [];
  try {
    const view = await capsule.show(`session/${session}`);
    cells = view.cells.map((cell) => cell.code ?? "").filter((code) => code !== "");
  } catch (error) {
    if (!isCapsuleError(error) || error.code !== "DURABLE_NOT_FOUND") throw error;
  }
  fs.writeFileSync(file, cells.length === 0 ? "" : `${cells.join("\n\n")}\n`);
}

/** The number of cells recorded for `session` (0 for a new one). */
export async function recordedCells(capsule: Capsule, name: string): Promise<number> {
  try {
    return (await capsule.show(`session/${name}`)).cells.length;
  } catch (error) {
    if (isCapsuleError(error) && error.code === "DURABLE_NOT_FOUND") return 0;
    throw error;
  }
}

/** A new session's name when none is given: the time it started. */
export function defaultName(): string {
  return `repl-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
}
