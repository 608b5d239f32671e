/**
 * A FIFO of received byte chunks that a frame decoder reads from. Chunks are kept as a
 * list and only copied once, when a frame that spans several of them is taken out, so
 * many small chunks cost linear time, never quadratic.
 */
export class ByteQueue {
  #chunks: Uint8Array[] = [];
  /** Index of the first live chunk; consumed chunks before it are compacted lazily. */
  #head = 0;
  /** Bytes of `#chunks[#head]` already consumed. */
  #offset = 0;
  #length = 0;

  /** Bytes buffered and not yet taken. */
  get length(): number {
    return this.#length;
  }

  append(chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.byteLength;
  }

  /** Big-endian uint32 at the front, without consuming it. Requires `length >= 4`. */
  peekUint32(): number {
    let value = 0;
    let index = this.#head;
    let offset = this.#offset;
    for (let read = 0; read < 4; read++) {
      let chunk = this.#chunks[index]!;
      while (offset >= chunk.byteLength) {
        index++;
        offset = 0;
        chunk = this.#chunks[index]!;
      }
      value = value * 256 + chunk[offset]!;
      offset++;
    }
    return value;
  }

  /**
   * Removes and returns the next `count` bytes. When they lie in one chunk the result is
   * a view of it (no copy); otherwise they are copied once into a new array.
   */
  take(count: number): Uint8Array {
    const first = this.#chunks[this.#head];
    if (first !== undefined && first.byteLength - this.#offset >= count) {
      const view = first.subarray(this.#offset, this.#offset + count);
      this.#advance(count);
      return view;
    }
    const out = new Uint8Array(count);
    let written = 0;
    while (written < count) {
      const chunk = this.#chunks[this.#head]!;
      const available = Math.min(chunk.byteLength - this.#offset, count - written);
      out.set(chunk.subarray(this.#offset, this.#offset + available), written);
      written += available;
      this.#advance(available);
    }
    return out;
  }

  /** Drops `count` bytes from the front. */
  skip(count: number): void {
    let left = count;
    while (left > 0) {
      const chunk = this.#chunks[this.#head]!;
      const step = Math.min(chunk.byteLength - this.#offset, left);
      this.#advance(step);
      left -= step;
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#offset = 0;
    this.#length = 0;
  }

  /** Consumes `count` bytes that lie within the head chunk. */
  #advance(count: number): void {
    this.#offset += count;
    this.#length -= count;
    const chunk = this.#chunks[this.#head];
    if (chunk !== undefined && this.#offset === chunk.byteLength) {
      this.#chunks[this.#head] = EMPTY;
      this.#head++;
      this.#offset = 0;
      // Compact rarely so that dropping consumed chunks stays amortized O(1).
      if (this.#head >= 64 && this.#head * 2 >= this.#chunks.length) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
    }
  }
}

const EMPTY = new Uint8Array(0);
