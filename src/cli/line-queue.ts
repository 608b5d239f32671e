/**
 * Lines of an input stream, taken one at a time: by the REPL (the next cell) and by a
 * cell's `input()` (its answer), in arrival order. Lines that arrive while nobody waits
 * are kept, so piped input typed ahead of a running cell is not lost.
 */
import readline from "node:readline";

export interface LineQueueOptions {
  /** Tab completion and history options of the readline interface (terminals). */
  readline?: Pick<
    readline.ReadLineOptions,
    "completer" | "history" | "historySize" | "removeHistoryDuplicates"
  >;
  /** Called with each new readline interface (the first, and each after `holdOpen`). */
  onInterface?: (rl: readline.Interface) => void;
}

export class LineQueue {
  /** Lines nobody took yet; `null` marks an end of input that was held open. */
  readonly #lines: (string | null)[] = [];
  readonly #waiters: ((line: string | null) => void)[] = [];
  readonly #input: NodeJS.ReadableStream;
  readonly #output: NodeJS.WritableStream | undefined;
  readonly #terminal: boolean;
  readonly #options: LineQueueOptions;
  #closed = false;
  #holdOpen = false;
  /** The terminal's history, newest first (readline's 'history' event). */
  #history: string[] | undefined;
  #rl: readline.Interface;

  constructor(
    input: NodeJS.ReadableStream,
    output?: NodeJS.WritableStream,
    terminal = false,
    options: LineQueueOptions = {},
  ) {
    this.#input = input;
    this.#output = output;
    this.#terminal = terminal;
    this.#options = options;
    this.#history = options.readline?.history;
    this.#rl = this.#open(this.#history);
  }

  get rl(): readline.Interface {
    return this.#rl;
  }

  /** The terminal's line history, newest first. */
  get history(): readonly string[] {
    return this.#history ?? [];
  }

  /**
   * While set, the end of the input on a terminal (Ctrl-D) gives waiters `null` once and
   * the queue goes on reading with a new interface (the REPL's `.editor` ends that way).
   */
  set holdOpen(value: boolean) {
    this.#holdOpen = value;
  }

  #open(history: string[] | undefined): readline.Interface {
    const rl = readline.createInterface({
      input: this.#input,
      ...(this.#output === undefined ? {} : { output: this.#output }),
      terminal: this.#terminal,
      ...this.#options.readline,
      ...(history === undefined ? {} : { history }),
    });
    rl.on("line", (line) => {
      const waiter = this.#waiters.shift();
      if (waiter === undefined) this.#lines.push(line);
      else waiter(line);
    });
    rl.on("history", (history: string[]) => {
      this.#history = history;
    });
    rl.on("close", () => {
      // A piped input that ended cannot be read again; a terminal can.
      const reopen =
        this.#holdOpen &&
        this.#terminal &&
        !(this.#input as { readableEnded?: boolean }).readableEnded;
      if (!reopen) this.#closed = true;
      const waiters = this.#waiters.splice(0);
      for (const waiter of waiters) waiter(null);
      // Nobody waited yet (lines typed ahead): the next taker gets the end instead.
      if (reopen && waiters.length === 0) this.#lines.push(null);
      if (reopen) {
        this.#holdOpen = false;
        this.#rl = this.#open(this.#history);
      }
    });
    this.#options.onInterface?.(rl);
    return rl;
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
    this.#holdOpen = false;
    this.#rl.close();
  }
}
