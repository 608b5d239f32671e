/** At most `limit` tasks at once; the others wait in arrival order. */
export class Semaphore {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
    }
    this.#limit = limit;
  }

  async with<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running < this.#limit) this.#running++;
    // A finished task hands its slot straight to the next waiter (no window to jump in).
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#running--;
      else next();
    }
  }
}
