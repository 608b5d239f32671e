/**
 * The sender's bounded memory of recently sent frames, by sequence number, so that a
 * peer that missed some can ask for them again. Bounded both by frame count and by
 * bytes: a run of large checkpoints must not pin unbounded memory.
 */
export class ResendBuffer {
  readonly maxFrames: number;
  readonly maxBytes: number;
  #frames: Uint8Array[] = [];
  /** Index in `#frames` of the oldest kept frame (older slots are dropped lazily). */
  #head = 0;
  /** Sequence number of `#frames[#head]`. */
  #oldestSeq = 1;
  #bytes = 0;

  constructor(maxFrames: number, maxBytes: number) {
    if (!Number.isInteger(maxFrames) || maxFrames < 1) {
      throw new RangeError("resend buffer size must be a positive integer");
    }
    this.maxFrames = maxFrames;
    this.maxBytes = maxBytes;
  }

  /** Oldest sequence number still kept (greater than `newestSeq` when empty). */
  get oldestSeq(): number {
    return this.#oldestSeq;
  }

  get newestSeq(): number {
    return this.#oldestSeq + this.size - 1;
  }

  get size(): number {
    return this.#frames.length - this.#head;
  }

  /** Keeps `frame` as sequence number `seq`, which must follow the previous one. */
  add(seq: number, frame: Uint8Array): void {
    if (this.size === 0) this.#oldestSeq = seq;
    else if (seq !== this.newestSeq + 1) {
      throw new RangeError(`resend buffer expected seq ${this.newestSeq + 1}, got ${seq}`);
    }
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    // Always keep the newest frame, even alone over the byte bound.
    while (this.size > 1 && (this.size > this.maxFrames || this.#bytes > this.maxBytes)) {
      this.#dropOldest();
    }
  }

  /** The frames `from..to` inclusive, or `undefined` if any of them is no longer kept. */
  get(from: number, to: number): Uint8Array[] | undefined {
    if (from < this.#oldestSeq || to > this.newestSeq || from > to) return undefined;
    const start = this.#head + (from - this.#oldestSeq);
    return this.#frames.slice(start, start + (to - from + 1));
  }

  #dropOldest(): void {
    this.#bytes -= this.#frames[this.#head]!.byteLength;
    this.#frames[this.#head] = DROPPED;
    this.#head++;
    this.#oldestSeq++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }
}

const DROPPED = new Uint8Array(0);
