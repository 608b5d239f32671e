/**
 * The receiver's view of a sequenced stream: it delivers items in sequence order,
 * drops duplicates, holds items that arrive after a gap, and says which range to ask
 * the sender for again. Pure bookkeeping, no I/O, so it is tested on its own terms.
 */

/** What one arrival means for the receiver. */
export interface Arrival<T> {
  /** The item was already received (or skipped); it is dropped. */
  duplicate: boolean;
  /** Items now deliverable, in sequence order (may be empty while a gap is open). */
  deliver: T[];
  /** Frames to ask the sender to resend, when this arrival revealed a new gap. */
  resend?: { from: number; to: number };
}

/** Marks a sequence number that arrived and was already handled (session-layer frames). */
const HANDLED = Symbol("handled");

export interface ReceiveWindowOptions {
  /** The transport neither loses nor reorders: only the next sequence number can come. */
  ordered?: boolean;
  /** A sequence number further ahead than this is no gap but a forgery (default: no bound). */
  maxGapFrames?: number;
}

export class ReceiveWindow<T> {
  readonly #ordered: boolean;
  readonly #maxGapFrames: number;
  /** Next sequence number to deliver. */
  #expected = 1;
  /** Items that arrived after a gap, by sequence number. */
  readonly #held = new Map<number, T | typeof HANDLED>();
  /** Highest sequence number already asked for, so a gap is requested once. */
  #requestedUpTo = 0;

  constructor(options: ReceiveWindowOptions = {}) {
    this.#ordered = options.ordered ?? false;
    this.#maxGapFrames = options.maxGapFrames ?? Number.POSITIVE_INFINITY;
  }

  get expected(): number {
    return this.#expected;
  }

  /**
   * Why a frame with `seq` (undefined: unsequenced) cannot come from an honest sender, if
   * it cannot; then it must not be `accept`ed.
   */
  impossible(seq: number | undefined): string | undefined {
    const expected = this.#expected;
    if (this.#ordered) {
      if (seq === undefined) return `without a sequence number (expected ${expected})`;
      if (seq !== expected)
        return `with sequence number ${seq} on an ordered stream (expected ${expected})`;
      return undefined;
    }
    if (seq !== undefined && seq - expected > this.#maxGapFrames) {
      return `with sequence number ${seq}, ${seq - expected} ahead of the next expected ${expected} (at most ${this.#maxGapFrames} could be resent)`;
    }
    return undefined;
  }

  /** Items waiting for a gap before them to be filled. */
  get heldCount(): number {
    return this.#held.size;
  }

  /**
   * Records the arrival of `seq`. `item` is what to deliver for it, or `undefined` for a
   * frame the caller handled on arrival and does not want delivered.
   */
  accept(seq: number, item: T | undefined): Arrival<T> {
    if (seq < this.#expected || this.#held.has(seq)) return { duplicate: true, deliver: [] };
    if (seq === this.#expected) {
      const deliver: T[] = [];
      if (item !== undefined) deliver.push(item);
      this.#expected++;
      this.#drain(deliver);
      return { duplicate: false, deliver };
    }
    this.#held.set(seq, item === undefined ? HANDLED : item);
    let from = Math.max(this.#expected, this.#requestedUpTo + 1);
    while (this.#held.has(from)) from++;
    const to = seq - 1;
    if (from > to) return { duplicate: false, deliver: [] };
    this.#requestedUpTo = to;
    return { duplicate: false, deliver: [], resend: { from, to } };
  }

  /** The missing range before the first held frame, while a gap is open. */
  firstGap(): { from: number; to: number } | undefined {
    if (this.#held.size === 0) return undefined;
    return { from: this.#expected, to: this.#firstHeld() - 1 };
  }

  /**
   * Gives up on the frames missing before the first held one (the sender can no longer
   * resend them) and returns what becomes deliverable. Returns the lost range, if any.
   */
  skipGap(): { deliver: T[]; lost?: { from: number; to: number } } {
    if (this.#held.size === 0) return { deliver: [] };
    const firstHeld = this.#firstHeld();
    const lost = { from: this.#expected, to: firstHeld - 1 };
    this.#expected = firstHeld;
    const deliver: T[] = [];
    this.#drain(deliver);
    return { deliver, lost };
  }

  #firstHeld(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const seq of this.#held.keys()) first = Math.min(first, seq);
    return first;
  }

  #drain(deliver: T[]): void {
    for (;;) {
      const next = this.#held.get(this.#expected);
      if (next === undefined) return;
      this.#held.delete(this.#expected);
      if (next !== HANDLED) deliver.push(next);
      this.#expected++;
    }
  }
}
