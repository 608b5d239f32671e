/**
 * The Node flags a thread of the worker is started with. The permission model is per
 * thread: a `Worker` given its own `execArgv` runs without it unless that list carries
 * the flags again (`new Worker(code, { execArgv: [] })` could read any file). So every
 * thread the worker starts, Capsule's service thread and a cell's own threads, gets this
 * process's permission flags, and no caller's flag can widen or drop them.
 */

/** `--permission`, `--allow-fs-read=…` and the like, and any flag that could undo them. */
export function isPermissionFlag(flag: string): boolean {
  return /^--(?:no-)?(?:experimental-)?permission/.test(flag) || /^--(?:no-)?allow-/.test(flag);
}

/** This process's permission flags, as a thread must repeat them. */
export function processPermissionFlags(): string[] {
  return process.execArgv.filter(isPermissionFlag);
}

/**
 * A caller's `execArgv` for a new thread with its permission flags replaced by this
 * process's own.
 */
export function withProcessPermissions(execArgv: readonly string[]): string[] {
  return [...execArgv.filter((flag) => !isPermissionFlag(flag)), ...processPermissionFlags()];
}
