/**
 * The cell size limit (`limits.cellBytes`), checked before anything reads the cell.
 * Counting UTF-8 bytes is itself linear, so the check first decides from the string's
 * length alone where it can: every UTF-16 unit is 1 to 3 UTF-8 bytes (a surrogate pair,
 * two units, is 4), so `length <= bytes <= 3 * length`.
 */
import { CellSizeLimitError } from "../errors.ts";

/** @throws CellSizeLimitError (code LIMIT_CELL_SIZE) when `code` is over `limitBytes`. */
export function checkCellSize(code: string, limitBytes: number): void {
  if (code.length > limitBytes) throw new CellSizeLimitError(code.length, limitBytes);
  if (code.length * 3 <= limitBytes) return;
  const bytes = Buffer.byteLength(code, "utf8");
  if (bytes > limitBytes) throw new CellSizeLimitError(bytes, limitBytes);
}
