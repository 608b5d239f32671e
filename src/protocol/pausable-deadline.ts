/**
 * An execution's time limit that does not run while the cell waits for a human: between
 * an `input` request and its `input_response`, the clock stops. Both ends keep one — the
 * worker's service thread (which enforces the limit) and the host (whose backstop ends a
 * worker that does not) — so they agree on what "30 s" means: 30 s of the cell's own
 * time, however long an answer takes (a durable question may wait for days).
 */
export class PausableDeadline {
  #remainingMs: number;
  #startedAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #waiting = new Set<string>();
  readonly #onExpire: () => void;
  #cleared = false;

  constructor(limitMs: number, onExpire: () => void) {
    this.#remainingMs = limitMs;
    this.#onExpire = onExpire;
    this.#run();
  }

  /** Input `id` was asked: the clock stops until every asked input is answered. */
  pause(id: string): void {
    if (this.#cleared || this.#waiting.has(id)) return;
    this.#waiting.add(id);
    if (this.#waiting.size > 1) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#remainingMs -= performance.now() - this.#startedAt;
  }

  /** Input `id` was answered (or abandoned); unknown ids change nothing. */
  resume(id: string): void {
    if (this.#cleared || !this.#waiting.delete(id) || this.#waiting.size > 0) return;
    this.#run();
  }

  /** The cell ended: the deadline never fires. */
  clear(): void {
    this.#cleared = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    this.#startedAt = performance.now();
    this.#timer = setTimeout(
      () => {
        this.#cleared = true;
        this.#onExpire();
      },
      Math.max(0, this.#remainingMs),
    );
  }
}
