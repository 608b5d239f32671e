/**
 * The wire protocol's version, announced by a worker in its `ready` message. Its own
 * module so the worker's main thread can name it without loading the message schemas
 * (and zod): only the service thread validates frames.
 */
export const PROTOCOL_VERSION = 1;
