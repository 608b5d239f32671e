/**
 * The REPL's line history, kept per durable session in `{store}/repl-history/{name}`:
 * starting `capsule repl -s NAME` again (after an exit or a crash) brings back the lines
 * typed before, for up/down. One line per entry, newest first, as Node's REPL keeps
 * its history file.
 */
import fs from "node:fs";
import path from "node:path";

export const HISTORY_SIZE = 1_000;

export function historyFile(storeDir: string, session: string): string {
  return path.join(storeDir, "repl-history", session);
}

/** The saved history, newest first; empty when there is none yet. */
export function loadHistory(file: string): string[] {
  try {
    return fs
      .readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .slice(0, HISTORY_SIZE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Replaces the file atomically (a rename), so a crash mid-write never loses it. */
export function saveHistory(file: string, history: readonly string[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${history.slice(0, HISTORY_SIZE).join("\n")}\n`, { mode: 0o600 });
  fs.renameSync(temporary, file);
}

/**
 * Ctrl-R: the first entry from `from` on (history is newest first) that contains `query`
 * and differs from the line as typed now; `next` is where a further Ctrl-R looks.
 */
export function searchHistory(
  history: readonly string[],
  query: string,
  from: number,
  current: string,
): { entry: string; next: number } | undefined {
  for (let i = from; i < history.length; i++) {
    const entry = history[i] ?? "";
    if (entry.includes(query) && entry !== current) return { entry, next: i + 1 };
  }
  return undefined;
}
