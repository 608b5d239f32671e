/**
 * What the worker defines in every context (workers/context.ts `PROTECTED_NAMES`; a test
 * keeps the two lists equal, since host code may not import worker internals).
 *
 * A module of its own so that a session can name them without loading the cell parser
 * (acorn and the rest of src/prepare): a host that only replays recorded cells, as a
 * restarted durable execution does, never parses one.
 */
export const DEFAULT_PROTECTED_NAMES: readonly string[] = [
  "input",
  "display",
  "require",
  "console",
];
