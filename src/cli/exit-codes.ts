/**
 * Exit codes of the `capsule` CLI: a stable contract for scripts.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | the user's code failed (runtime error or syntax error in the cell) |
 * | 2 | usage error (unknown command or option, missing argument, invalid session name) |
 * | 3 | store unavailable: locked by another process, or the id/session is not in it (or is no pending input) |
 * | 4 | a limit was hit (time, memory, other resource) |
 * | 5 | Capsule itself failed (worker crashed, protocol or store failure) |
 * | 130 | interrupted (Ctrl-C cancelled the running cell) |
 * | 141 | stdout was closed by its reader (`capsule ls | head`): the status a shell reports for a process SIGPIPE ended |
 */
import { isCapsuleError } from "../errors.ts";

export const EXIT = {
  ok: 0,
  userError: 1,
  usage: 2,
  store: 3,
  limit: 4,
  internal: 5,
  interrupted: 130,
  brokenPipe: 141,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Help epilogue listing the exit codes (shown by every command's `--help`). */
export const EXIT_CODES_HELP = `
Exit codes:
  0    success
  1    the code failed (runtime or syntax error)
  2    usage error (bad command, option, argument or session name)
  3    store locked by another process, or id/session not found
  4    limit hit (timeout, memory, resources)
  5    internal failure (worker crashed, store or protocol failure)
  130  interrupted (Ctrl-C cancelled the running cell)
  141  stdout closed by its reader (as a process SIGPIPE ended)`;

/** The exit code for an error that ended a command. */
export function exitCodeOf(error: unknown): ExitCode {
  if (!isCapsuleError(error)) return EXIT.internal;
  switch (error.code) {
    case "EXECUTION_ERROR":
    case "EXECUTION_SYNTAX_ERROR":
    case "INPUT_UNAVAILABLE":
      return EXIT.userError;
    case "DURABLE_INVALID_NAME":
    case "KERNEL_CONNECTION_INVALID":
    case "KERNEL_INSTALL_FAILED":
      return EXIT.usage;
    case "STORE_LOCKED":
    case "DURABLE_NOT_FOUND":
    case "INPUT_NOT_PENDING":
    case "INPUT_ALREADY_ANSWERED":
      return EXIT.store;
    case "LIMIT_TIMEOUT":
    case "LIMIT_MEMORY":
    case "LIMIT_RESOURCE":
      return EXIT.limit;
    case "EXECUTION_CANCELLED":
      return EXIT.interrupted;
    default:
      return EXIT.internal;
  }
}
