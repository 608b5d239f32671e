/** Capsule's public entry: a plain list of re-exports. */
export * from "./errors.ts";
export * from "./protocol/index.ts";
