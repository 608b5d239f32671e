/**
 * An in-memory duplex link between two `ByteStream` ends, delivering synchronously.
 * Each direction can drop or hold frames (the channel writes one frame per `write`), to
 * simulate the loss and reordering the session layer must repair.
 */
import type { ByteStream } from "../../src/protocol/byte-stream.ts";
import { decodePayload, FRAME_HEADER_BYTES } from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";

type Listeners = {
  data: Set<(chunk: Uint8Array) => void>;
  close: Set<() => void>;
  error: Set<(error: Error) => void>;
};

export class Direction {
  /** Every frame written in this direction, decoded, including dropped ones. */
  readonly written: Message[] = [];
  /** Return true to drop a frame instead of delivering it. */
  drop: (message: Message) => boolean = () => false;
  #holding = false;
  #delivering = false;
  /** Frames in flight, in write order: delivery is FIFO even for writes made re-entrantly. */
  #queue: Uint8Array[] = [];
  #deliver: (frame: Uint8Array) => void = () => {};

  connect(deliver: (frame: Uint8Array) => void): void {
    this.#deliver = deliver;
  }

  /** Keeps frames in flight instead of delivering them, until `release`. */
  hold(): void {
    this.#holding = true;
  }

  release(): void {
    this.#holding = false;
    this.#flush();
  }

  carry(frame: Uint8Array): void {
    const message = decodePayload(frame.subarray(FRAME_HEADER_BYTES));
    this.written.push(message);
    if (this.drop(message)) return;
    this.#queue.push(frame);
    this.#flush();
  }

  #flush(): void {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      while (!this.#holding && this.#queue.length > 0) this.#deliver(this.#queue.shift()!);
    } finally {
      this.#delivering = false;
    }
  }

  /** Types of the frames written so far, for compact assertions. */
  types(): string[] {
    return this.written.map((message) => message.type);
  }
}

class MemoryEnd implements ByteStream {
  readonly listeners: Listeners = { data: new Set(), close: new Set(), error: new Set() };
  readonly #outgoing: Direction;
  readonly #onEnd: () => void;

  constructor(outgoing: Direction, onEnd: () => void) {
    this.#outgoing = outgoing;
    this.#onEnd = onEnd;
  }

  write(bytes: Uint8Array): boolean {
    this.#outgoing.carry(bytes);
    return true;
  }

  on(event: "data", listener: (chunk: Uint8Array) => void): this;
  on(event: "close", listener: () => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: keyof Listeners, listener: (...args: never[]) => void): this {
    (this.listeners[event] as Set<unknown>).add(listener);
    return this;
  }

  off(event: "data", listener: (chunk: Uint8Array) => void): this;
  off(event: "close", listener: () => void): this;
  off(event: "error", listener: (error: Error) => void): this;
  off(event: keyof Listeners, listener: (...args: never[]) => void): this {
    (this.listeners[event] as Set<unknown>).delete(listener);
    return this;
  }

  end(): void {
    this.#onEnd();
  }

  receive(chunk: Uint8Array): void {
    for (const listener of [...this.listeners.data]) listener(chunk);
  }

  emitClose(): void {
    for (const listener of [...this.listeners.close]) listener();
  }
}

export interface MemoryLink {
  a: MemoryEnd;
  b: MemoryEnd;
  aToB: Direction;
  bToA: Direction;
}

/** Ending either side closes both, as a socket pair does. */
export function createMemoryLink(): MemoryLink {
  const aToB = new Direction();
  const bToA = new Direction();
  let ended = false;
  const endBoth = (): void => {
    if (ended) return;
    ended = true;
    a.emitClose();
    b.emitClose();
  };
  const a = new MemoryEnd(aToB, endBoth);
  const b = new MemoryEnd(bToA, endBoth);
  aToB.connect((frame) => b.receive(frame));
  bToA.connect((frame) => a.receive(frame));
  return { a, b, aToB, bToA };
}
