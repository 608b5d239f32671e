/**
 * Why a worker process ended, as an error a user can act on: a protocol violation the
 * host ended it for, the memory limit (V8's heap limit or the RSS watchdog), a signal
 * (kill -9, a native crash), or an exit (user code called `process.exit()`).
 */
import {
  type CapsuleError,
  MemoryLimitError,
  type ProtocolError,
  WorkerCrashedError,
} from "../errors.ts";

export interface ExitInfo {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** One line: what ended the worker. */
  cause: string;
  error: CapsuleError;
}

/** Printed by the worker's watchdog before it ends the process over the RSS limit. */
const RSS_MARKER = /CAPSULE_MEMORY_LIMIT rss=(\d+)/;
const HEAP_MARKERS = [
  "JavaScript heap out of memory",
  "Reached heap limit",
  "Allocation failed - process out of memory",
];

/**
 * `violation`: the host ended the worker because it broke the wire protocol; that, not
 * the SIGKILL that followed, is why it ended.
 */
export function classifyExit(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
  violation?: ProtocolError,
): ExitInfo {
  const fields = { exitCode, signal };
  if (violation !== undefined) return { ...fields, cause: violation.message, error: violation };
  const rss = RSS_MARKER.exec(stderrTail);
  if (rss !== null) {
    const mib = Math.round(Number(rss[1]) / (1024 * 1024));
    const cause = `worker exceeded its memory limit (resident memory ${mib} MiB)`;
    return { ...fields, cause, error: new MemoryLimitError(cause) };
  }
  if (HEAP_MARKERS.some((marker) => stderrTail.includes(marker))) {
    const cause = "worker ran out of JavaScript heap (memory limit)";
    return { ...fields, cause, error: new MemoryLimitError(cause) };
  }
  const cause =
    signal !== null
      ? `worker was killed by ${signal}`
      : exitCode === 0
        ? "worker exited (process.exit() in user code?)"
        : `worker exited with code ${exitCode}`;
  // The worker's last words (a native crash report, an uncaught error) say more than a code.
  const lastWords = stderrTail.trim().split("\n").slice(-3).join(" | ").slice(-300);
  const message = lastWords === "" ? cause : `${cause}; its stderr ended with: ${lastWords}`;
  return { ...fields, cause, error: new WorkerCrashedError(message, fields) };
}
