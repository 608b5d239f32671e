/**
 * Coalesces a cell's many small writes into fewer `output` frames on the service thread:
 * consecutive writes of one execution to one stream become one frame, so a burst of a
 * thousand `console.log`s costs a few frames (and host wake-ups), not a thousand. Order is
 * kept (anything else, or another stream, sends what is held first), a frame holds at
 * most `maxBytes`, and what is held goes out at the end of the current turn of the
 * service thread's event loop (`setImmediate`), so latency stays bounded by one turn. The
 * truncation marker always travels alone, flagged.
 */
import type { WorkerMessage } from "../../src/protocol/messages.ts";

/** The most text one coalesced frame carries. */
const MAX_COALESCED_BYTES = 64 * 1024;

type Output = Extract<WorkerMessage, { type: "output" }>;

export class OutputCoalescer {
  readonly #send: (message: WorkerMessage) => void;
  readonly #maxBytes: number;
  #held: { first: Output; parts: string[]; length: number } | undefined;
  #scheduled = false;

  constructor(send: (message: WorkerMessage) => void, maxBytes = MAX_COALESCED_BYTES) {
    this.#send = send;
    this.#maxBytes = maxBytes;
  }

  /** Sends `message`, or holds it to send with the writes that follow it. */
  send(message: WorkerMessage): void {
    if (message.type !== "output" || message.truncated === true) {
      this.flush();
      this.#send(message);
      return;
    }
    const held = this.#held;
    if (
      held !== undefined &&
      held.first.execution_id === message.execution_id &&
      held.first.stream === message.stream &&
      held.length + message.data.length <= this.#maxBytes
    ) {
      held.parts.push(message.data);
      held.length += message.data.length;
      return;
    }
    this.flush();
    this.#held = { first: message, parts: [message.data], length: message.data.length };
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** Sends what is held, now. */
  flush(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    this.#send(held.parts.length === 1 ? held.first : { ...held.first, data: held.parts.join("") });
  }
}
