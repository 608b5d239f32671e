/**
 * Lines of an input stream, taken one at a time: by the REPL (the next cell) and by a
 * cell's `input()` (its answer), in arrival order. Lines that arrive while nobody waits
 * are kept, so piped input typed ahead of a running cell is not lost.
 */
import readline from "node:readline";

export class LineQueue {
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string | null) => void)[] = [];
  #closed = false;
  readonly rl: readline.Interface;

  constructor(input: NodeJS.ReadableStream, output?: NodeJS.WritableStream, terminal = false) {
    this.rl = readline.createInterface({
      input,
      ...(output === undefined ? {} : { output }),
      terminal,
    });
    this.rl.on("line", (line) => {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#lines.push(line);
      else waiter(line);
    });
    this.rl.on("close", () => {
      this.#closed = true;
      for (const waiter of this.#waiters.splice(0)) waiter(null);
    });
  }

  /** True once the input ended (its remaining lines may still be queued). */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once the input ended (EOF, Ctrl-D) and every line was taken. */
  get ended(): boolean {
    return this.#closed && this.#lines.length === 0;
  }

  /**
   * The next line, or null at the end of the input or when `signal` aborts first (the
   * line then goes to the next taker, not to a cancelled one).
   */
  next(signal?: AbortSignal): Promise<string | null> {
    const line = this.#lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.#closed || signal?.aborted === true) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter = (value: string | null) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(value);
      };
      const onAbort = () => {
        const at = this.#waiters.indexOf(waiter);
        if (at !== -1) this.#waiters.splice(at, 1);
        resolve(null);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  close(): void {
    this.rl.close();
  }
}
