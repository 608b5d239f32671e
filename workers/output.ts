/**
 * Streams a cell's output to the host as it is written, within a byte budget per
 * execution: a flood (`while (true) console.log(x)`) costs at most the budget in host
 * memory, then one marker says how much was dropped.
 */

export type OutputStream = "stdout" | "stderr" | "display";

export type OutputSend = (stream: OutputStream, data: string, truncated?: boolean) => void;

/** Default per-execution output budget: 8 MiB of text. */
export const DEFAULT_OUTPUT_LIMIT = 8 * 1024 * 1024;

export class OutputBudget {
  readonly #send: OutputSend;
  readonly #limit: number;
  #used = 0;
  #dropped = 0;

  constructor(send: OutputSend, limitBytes = DEFAULT_OUTPUT_LIMIT) {
    this.#send = send;
    this.#limit = limitBytes;
  }

  /** Starts a new execution's budget. */
  reset(): void {
    this.#used = 0;
    this.#dropped = 0;
  }

  write(stream: OutputStream, data: string): void {
    if (data.length === 0) return;
    const bytes = Buffer.byteLength(data);
    if (this.#dropped > 0 || this.#used + bytes > this.#limit) {
      if (this.#dropped === 0) {
        this.#send(stream, `\n[capsule: output over ${this.#limit} bytes truncated]\n`, true);
      }
      this.#dropped += bytes;
      return;
    }
    this.#used += bytes;
    this.#send(stream, data);
  }
}
