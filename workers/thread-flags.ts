/**
 * The Node flags of a thread a cell starts. The permission model is per thread: a
 * `Worker` given its own `execArgv` runs without it unless that list carries the flags
 * again (`new Worker(code, { execArgv: [] })` could read any file). So the builtin guard
 * gives every such thread this process's permission flags, and no caller's flag can widen
 * or drop them. (Capsule's service thread names no flags, and so inherits them.)
 */

/** `--permission`, `--allow-fs-read=…` and the like, and any flag that could undo them. */
export function isPermissionFlag(flag: string): boolean {
  return /^--(?:no-)?(?:experimental-)?permission/.test(flag) || /^--(?:no-)?allow-/.test(flag);
}

/** This process's permission flags, as a thread must repeat them. */
function processPermissionFlags(): string[] {
  return process.execArgv.filter(isPermissionFlag);
}

/**
 * A caller's `execArgv` for a new thread with its permission flags replaced by this
 * process's own.
 */
export function withProcessPermissions(execArgv: readonly string[]): string[] {
  return [...execArgv.filter((flag) => !isPermissionFlag(flag)), ...processPermissionFlags()];
}
