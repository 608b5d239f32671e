/**
 * The minimal duplex byte stream a `ProtocolChannel` runs over. A `net.Socket` (for
 * example a child process's extra stdio pipe, or `new Socket({ fd: 3 })` inside the
 * child) satisfies it directly; `joinStreams` makes one from a readable and a writable
 * (a child's stdout and stdin).
 */
import type { Readable, Writable } from "node:stream";

export interface ByteStream {
  /** Queues bytes for the peer; the return value (backpressure) is ignored. */
  write(bytes: Uint8Array): unknown;
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  off(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  off(event: "close", listener: () => void): unknown;
  off(event: "error", listener: (error: Error) => void): unknown;
  /** Ends the outgoing direction (the peer sees end of stream). */
  end(): unknown;
}

type Listener = (...args: never[]) => void;

/**
 * Joins a readable (incoming bytes) and a writable (outgoing bytes) into one
 * `ByteStream`. It reports `close` when the readable closes (the peer is gone) and
 * `error` for errors of either side.
 */
export function joinStreams(readable: Readable, writable: Writable): ByteStream {
  const on = (event: string, listener: Listener): void => {
    const handler = listener as (...args: unknown[]) => void;
    if (event === "error") {
      readable.on("error", handler);
      writable.on("error", handler);
    } else {
      readable.on(event, handler);
    }
  };
  const off = (event: string, listener: Listener): void => {
    const handler = listener as (...args: unknown[]) => void;
    readable.off(event, handler);
    if (event === "error") writable.off(event, handler);
  };
  return {
    write: (bytes) => writable.write(bytes),
    on,
    off,
    end: () => writable.end(),
  };
}
