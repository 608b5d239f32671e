/**
 * The Node built-ins that the worker's code (its start, and the checkpoint codec it loads
 * on the first cell that names something) uses, taken with `process.getBuiltinModule`
 * instead of `import`: an `import` of a built-in builds its ESM view, which reads every
 * export, and for `node:fs` and `node:util` that loads the lazy parts behind their
 * getters (fs streams and promises, and what they pull in). On the main thread that was
 * ~5–9 ms of a worker's start, and ~5 ms on the service thread, for modules of which the
 * worker uses a few plain functions.
 */
export const fs = process.getBuiltinModule("node:fs");
export const util = process.getBuiltinModule("node:util");
/** `util.types`, for code that checks many values (the checkpoint codec). */
export const types = util.types;
