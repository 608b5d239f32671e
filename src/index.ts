/** Capsule's public entry: a plain list of re-exports. */
export * from "./errors.ts";
export { detectMode, type PreparedCell, prepareCell } from "./prepare/index.ts";
export * from "./protocol/index.ts";
export * from "./session/index.ts";
