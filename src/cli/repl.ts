/**
 * `capsule repl [--session NAME]`: an interactive durable REPL. Every cell is the next
 * durable cell of the named session, so after a crash (`kill -9`) the same command with
 * the same name brings the namespace back. Input continues over lines while the cell is
 * incomplete; output streams as it comes; `input()` is answered at the prompt; Ctrl-C
 * cancels a running cell (the namespace is kept) or clears the input; Ctrl-C twice at an
 * empty prompt, or Ctrl-D, leaves. Works the same with piped stdin (no line editing).
 */
import type { Capsule, DurableOutputChunk, NamedSession } from "../../durable/index.ts";
import { CapsuleError, isCapsuleError } from "../errors.ts";
import { checkCell } from "./cell-input.ts";
import { errorText, resultText } from "./format.ts";
import { LineQueue } from "./line-queue.ts";
import { openStore, type StoreOptions } from "./store.ts";
import { createStyle, type Style, useColor } from "./terminal.ts";

export interface ReplOptions extends StoreOptions {
  session?: string;
  verbose?: boolean;
  timeout?: number;
}

const PROMPT = "> ";
const CONTINUE = "... ";
/** Failures after which the REPL cannot go on (the store or the pool is gone). */
const FATAL = new Set(["STORE_WRITE_FAILED", "STORE_CORRUPT", "STORE_LOCKED", "POOL_CLOSED"]);

function defaultName(): string {
  return `repl-${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}`;
}

async function recordedCells(capsule: Capsule, name: string): Promise<number> {
  try {
    return (await capsule.show(`session/${name}`)).cells.length;
  } catch (error) {
    if (isCapsuleError(error) && error.code === "DURABLE_NOT_FOUND") return 0;
    throw error;
  }
}

export async function replCommand(options: ReplOptions): Promise<void> {
  const name = options.session ?? defaultName();
  const capsule = await openStore(options);
  try {
    const session = capsule.session(name);
    const cells = await recordedCells(capsule, name);
    const repl = new Repl(session, options, createStyle(useColor()));
    repl.banner(name, cells);
    await repl.run();
  } finally {
    await capsule.close();
  }
}

class Repl {
  readonly #session: NamedSession;
  readonly #options: ReplOptions;
  readonly #style: Style;
  readonly #tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  readonly #lines = new LineQueue(process.stdin, process.stdout, this.#tty);
  #buffer = "";
  #running: AbortController | undefined;
  #idleInterrupts = 0;
  /** Whether the terminal cursor is at a line start (output may end mid-line). */
  #atLineStart = true;

  constructor(session: NamedSession, options: ReplOptions, style: Style) {
    this.#session = session;
    this.#options = options;
    this.#style = style;
  }

  banner(name: string, cells: number): void {
    const restored =
      cells === 0
        ? "new session"
        : `${cells} cell${cells === 1 ? "" : "s"} recorded; the namespace is restored`;
    this.#write(
      `${this.#style.bold(`capsule repl — session ${name}`)} ${this.#style.dim(`(${restored})`)}\n`,
    );
    this.#write(this.#style.dim("Ctrl-C cancels a running cell; Ctrl-D or Ctrl-C twice leaves.\n"));
  }

  async run(): Promise<void> {
    const onInterrupt = () => this.#interrupt();
    const onTerminate = () => this.#lines.close();
    // A terminal's Ctrl-C reaches readline; a signal sent to the process (or Ctrl-C with
    // piped input) reaches the process.
    this.#lines.rl.on("SIGINT", onInterrupt);
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onTerminate);
    process.on("SIGHUP", onTerminate);
    try {
      for (;;) {
        this.#prompt();
        const line = await this.#lines.next();
        if (line === null) break;
        this.#idleInterrupts = 0;
        this.#buffer = this.#buffer === "" ? line : `${this.#buffer}\n${line}`;
        if (this.#buffer.trim() === "") {
          this.#buffer = "";
          continue;
        }
        const check = checkCell(this.#buffer);
        if (check.kind === "incomplete") continue;
        const code = this.#buffer;
        this.#buffer = "";
        if (check.kind === "invalid") this.#error(check.error);
        else await this.#execute(code);
      }
      if (this.#tty) this.#write("\n");
    } finally {
      process.off("SIGINT", onInterrupt);
      process.off("SIGTERM", onTerminate);
      process.off("SIGHUP", onTerminate);
      this.#lines.close();
    }
  }

  async #execute(code: string): Promise<void> {
    const controller = new AbortController();
    this.#running = controller;
    try {
      const result = await this.#session.execute(code, {
        signal: controller.signal,
        ...(this.#options.timeout === undefined ? {} : { timeoutMs: this.#options.timeout }),
        onOutput: (chunk) => this.#output(chunk),
        onInput: (prompt) => this.#answer(prompt, controller.signal),
      });
      this.#endLine();
      const shown = resultText(result);
      if (shown !== undefined) this.#write(`${shown}\n`);
    } catch (error) {
      this.#endLine();
      if (isCapsuleError(error) && FATAL.has(error.code)) throw error;
      if (isCapsuleError(error) && error.code === "EXECUTION_CANCELLED") {
        this.#write(this.#style.yellow("cancelled; the namespace is kept\n"));
      } else {
        this.#error(error);
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #answer(prompt: string, signal: AbortSignal): Promise<string> {
    this.#endLine();
    this.#showPrompt(prompt);
    const answer = await this.#lines.next(signal);
    if (!this.#tty) this.#write("\n");
    this.#atLineStart = true;
    if (answer === null) {
      throw new CapsuleError("INPUT_UNAVAILABLE", "input() got no answer: the input ended");
    }
    return answer;
  }

  #interrupt(): void {
    if (this.#running !== undefined) {
      this.#running.abort();
      return;
    }
    this.#write("\n");
    if (this.#buffer !== "" || (!this.#lines.closed && this.#lines.rl.line !== "")) {
      this.#buffer = "";
      this.#clearTypedLine();
      this.#idleInterrupts = 0;
    } else if (++this.#idleInterrupts >= 2) {
      this.#lines.close();
      return;
    } else {
      this.#write(this.#style.dim("(To leave, press Ctrl-C again or Ctrl-D)\n"));
    }
    this.#prompt();
  }

  #clearTypedLine(): void {
    if (!this.#tty || this.#lines.closed) return;
    this.#lines.rl.write(null, { ctrl: true, name: "e" });
    this.#lines.rl.write(null, { ctrl: true, name: "u" });
  }

  #prompt(): void {
    this.#showPrompt(this.#buffer === "" ? PROMPT : CONTINUE);
  }

  /** On a terminal readline draws the prompt (for line editing); in a pipe it is text. */
  #showPrompt(prompt: string): void {
    if (this.#tty && !this.#lines.closed) {
      this.#lines.rl.setPrompt(prompt);
      this.#lines.rl.prompt();
    } else if (!this.#lines.ended) {
      this.#write(prompt);
    }
  }

  #output(chunk: DurableOutputChunk): void {
    (chunk.stream === "stderr" ? process.stderr : process.stdout).write(chunk.data);
    this.#atLineStart = chunk.data.endsWith("\n");
  }

  #error(error: unknown): void {
    process.stderr.write(`${this.#style.red(errorText(error, this.#options.verbose === true))}\n`);
  }

  #endLine(): void {
    if (!this.#atLineStart) this.#write("\n");
    this.#atLineStart = true;
  }

  #write(text: string): void {
    process.stdout.write(text);
  }
}
