/**
 * Streams a cell's output to the host as it is written, within a byte budget per
 * execution: a flood (`while (true) console.log(x)`) costs at most the budget in host
 * memory, then one marker says how much was dropped. Rich displays (MIME bundles) count
 * against the same budget as text.
 */
import type { Display } from "../src/protocol/messages.ts";

/** A `display` message without its envelope (the runtime adds the cell's id). */
export type DisplayItem = Omit<Display, "type" | "seq" | "execution_id">;
export type DisplaySend = (item: DisplayItem) => void;

export type OutputStream = "stdout" | "stderr" | "display";

export type OutputSend = (stream: OutputStream, data: string, truncated?: boolean) => void;

/** Default per-execution output budget: 8 MiB of text. */
export const DEFAULT_OUTPUT_LIMIT = 8 * 1024 * 1024;

export class OutputBudget {
  readonly #send: OutputSend;
  readonly #limit: number;
  readonly #sendDisplay: DisplaySend | undefined;
  #used = 0;
  #dropped = 0;

  constructor(send: OutputSend, limitBytes = DEFAULT_OUTPUT_LIMIT, sendDisplay?: DisplaySend) {
    this.#send = send;
    this.#limit = limitBytes;
    this.#sendDisplay = sendDisplay;
  }

  /** Starts a new execution's budget. */
  reset(): void {
    this.#used = 0;
    this.#dropped = 0;
  }

  write(stream: OutputStream, data: string): void {
    if (data.length === 0) return;
    if (this.#admit(stream, Buffer.byteLength(data))) this.#send(stream, data);
  }

  /**
   * A rich display; without a display sender (or over the budget, as a marker) it goes as
   * its `text/plain`. A bundle is sized by its JSON text, close to what it costs the host.
   */
  display(item: DisplayItem): void {
    const bytes = item.action === "clear" ? 0 : Buffer.byteLength(JSON.stringify(item.data));
    if (!this.#admit("display", bytes)) return;
    if (this.#sendDisplay !== undefined) this.#sendDisplay(item);
    else if (item.action !== "clear") this.#send("display", String(item.data["text/plain"] ?? ""));
  }

  #admit(stream: OutputStream, bytes: number): boolean {
    if (this.#dropped > 0 || this.#used + bytes > this.#limit) {
      if (this.#dropped === 0) {
        this.#send(stream, `\n[capsule: output over ${this.#limit} bytes truncated]\n`, true);
      }
      this.#dropped += Math.max(bytes, 1);
      return false;
    }
    this.#used += bytes;
    return true;
  }
}
