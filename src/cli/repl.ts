/**
 * `capsule repl [--session NAME]`: an interactive durable REPL. Every cell is the next
 * durable cell of the named session, so after a crash (`kill -9`) the same command with
 * the same name brings the namespace back. Input continues over lines while the cell is
 * incomplete; output streams as it comes; `input()` is answered at the prompt; Ctrl-C
 * cancels a running cell (the namespace is kept) or clears the input; Ctrl-C twice at an
 * empty prompt, or Ctrl-D, leaves. Works the same with piped stdin (no line editing).
 *
 * The habits of Node's REPL: on a terminal, line history per session that survives the
 * process (up/down; Ctrl-R puts the newest line containing what is typed, again for
 * older ones), and Tab completion from the live namespace (the kernel's
 * `complete`: an `introspect` request to the session's worker, not a cell); `_` and `_error` are the last result and
 * error; `.help`, `.exit`, `.break`, `.load FILE` (runs the file as one cell), `.save FILE`
 * (writes every recorded cell of the session, also those from before a crash) and
 * `.editor` (a multi-line cell ended by Ctrl-D, cancelled by Ctrl-C).
 */
import fs from "node:fs";
import type { Capsule, DurableOutputChunk, NamedSession } from "../../durable/index.ts";
import { CapsuleError, isCapsuleError } from "../errors.ts";
import { complete } from "../kernel/introspect.ts";
import { checkCell } from "./cell-input.ts";
import { errorText, resultText } from "./format.ts";
import { LineQueue } from "./line-queue.ts";
import { defaultName, HELP, isCommand, recordedCells, saveCells } from "./repl-commands.ts";
import {
  HISTORY_SIZE,
  historyFile,
  loadHistory,
  saveHistory,
  searchHistory,
} from "./repl-history.ts";
import { openStore, type StoreOptions, storeDir } from "./store.ts";
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

export async function replCommand(options: ReplOptions): Promise<void> {
  const name = options.session ?? defaultName();
  const capsule = await openStore(options);
  try {
    const session = capsule.session(name);
    const cells = await recordedCells(capsule, name);
    const repl = new Repl(capsule, session, options, createStyle(useColor()));
    repl.banner(name, cells);
    await repl.run();
  } finally {
    await capsule.close();
  }
}

class Repl {
  readonly #capsule: Capsule;
  readonly #session: NamedSession;
  readonly #options: ReplOptions;
  readonly #style: Style;
  readonly #tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  readonly #historyFile: string;
  readonly #lines: LineQueue;
  #onReadlineInterrupt: () => void = () => undefined;
  /** Ctrl-R: what was typed when the search began, and where the next match is looked for. */
  #historySearch: { query: string; next: number } | undefined;
  /** Aborts a read of `.editor` (Ctrl-C cancels the editor). */
  #editor: AbortController | undefined;
  #buffer = "";
  #running: AbortController | undefined;
  #idleInterrupts = 0;
  /** Whether the terminal cursor is at a line start (output may end mid-line). */
  #atLineStart = true;

  constructor(capsule: Capsule, session: NamedSession, options: ReplOptions, style: Style) {
    this.#capsule = capsule;
    this.#session = session;
    this.#options = options;
    this.#style = style;
    this.#historyFile = historyFile(storeDir(options), session.name);
    this.#lines = new LineQueue(process.stdin, process.stdout, this.#tty, {
      ...(this.#tty
        ? {
            readline: {
              history: loadHistory(this.#historyFile),
              historySize: HISTORY_SIZE,
              removeHistoryDuplicates: true,
              completer: (line: string, done: (error: null, result: [string[], string]) => void) =>
                this.#complete(line, done),
            },
          }
        : {}),
      onInterface: (rl) => {
        rl.on("SIGINT", () => this.#onReadlineInterrupt());
        if (this.#tty) rl.on("history", (history: string[]) => this.#saveHistory(history));
      },
    });
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
    this.#onReadlineInterrupt = onInterrupt;
    const onKeypress = (_text: unknown, key: { ctrl?: boolean; name?: string } | undefined) =>
      this.#keypress(key);
    if (this.#tty) process.stdin.on("keypress", onKeypress);
    process.on("SIGINT", onInterrupt);
    process.on("SIGTERM", onTerminate);
    process.on("SIGHUP", onTerminate);
    try {
      for (;;) {
        this.#prompt();
        const line = await this.#lines.next();
        if (line === null) break;
        this.#idleInterrupts = 0;
        if (this.#buffer === "" && isCommand(line)) {
          if ((await this.#command(line)) === "exit") break;
          continue;
        }
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
      process.stdin.off("keypress", onKeypress);
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

  /** A dot command; "exit" ends the REPL. */
  async #command(line: string): Promise<"exit" | undefined> {
    const [name = "", ...rest] = line.trim().split(/\s+/);
    const argument = rest.join(" ");
    switch (name) {
      case ".exit":
        return "exit";
      case ".help":
        this.#write(HELP);
        return undefined;
      case ".break":
        this.#buffer = "";
        return undefined;
      case ".load": {
        if (argument === "") return this.#usage(".load FILE");
        let code: string;
        try {
          code = fs.readFileSync(argument, "utf8");
        } catch (error) {
          this.#error(error);
          return undefined;
        }
        await this.#run(code);
        return undefined;
      }
      case ".save":
        if (argument === "") return this.#usage(".save FILE");
        try {
          await saveCells(this.#capsule, this.#session.name, argument);
          this.#write(`Session saved to: ${argument}\n`);
        } catch (error) {
          this.#error(error);
        }
        return undefined;
      case ".editor":
        await this.#editMode();
        return this.#lines.ended ? "exit" : undefined;
      default:
        this.#error(new Error(`Invalid REPL keyword ${name} (.help lists them)`));
        return undefined;
    }
  }

  #usage(text: string): undefined {
    this.#error(new Error(`usage: ${text}`));
    return undefined;
  }

  /** `.editor`: lines until Ctrl-D (or the end of piped input) make one cell. */
  async #editMode(): Promise<void> {
    this.#write(this.#style.dim("// Entering editor mode (Ctrl+D to finish, Ctrl+C to cancel)\n"));
    const editor = new AbortController();
    this.#editor = editor;
    this.#lines.holdOpen = true;
    const lines: string[] = [];
    try {
      for (;;) {
        this.#showPrompt("");
        const line = await this.#lines.next(editor.signal);
        if (line === null) break;
        lines.push(line);
      }
    } finally {
      this.#editor = undefined;
      this.#lines.holdOpen = false;
    }
    this.#write("\n");
    if (editor.signal.aborted) return;
    const code = lines.join("\n");
    if (code.trim() !== "") await this.#run(code);
  }

  /** Runs `code` as one cell (syntax errors are reported without recording anything). */
  async #run(code: string): Promise<void> {
    const check = checkCell(code);
    if (check.kind === "complete") await this.#execute(code);
    else this.#error(check.kind === "invalid" ? check.error : new Error("the cell is incomplete"));
  }

  #complete(line: string, done: (error: null, result: [string[], string]) => void): void {
    // A running cell holds the session (this is an input() answer): nothing to offer.
    if (this.#running !== undefined) {
      done(null, [[], line]);
      return;
    }
    const code = this.#buffer === "" ? line : `${this.#buffer}\n${line}`;
    complete(this.#session, code, code.length).then(
      (found) => done(null, [found.matches, code.slice(found.start, found.end)]),
      (error: unknown) => {
        this.#error(error);
        done(null, [[], line]);
      },
    );
  }

  #keypress(key: { ctrl?: boolean; name?: string } | undefined): void {
    if (
      key?.ctrl === true &&
      key.name === "r" &&
      this.#running === undefined &&
      !this.#lines.closed
    ) {
      this.#searchHistory();
    } else {
      this.#historySearch = undefined;
    }
  }

  /**
   * Replaces the typed line with the newest history line containing it; each further
   * Ctrl-R goes to an older one (readline itself has no reverse search).
   */
  #searchHistory(): void {
    const rl = this.#lines.rl;
    const search = this.#historySearch ?? { query: rl.line, next: 0 };
    const found = searchHistory(this.#lines.history, search.query, search.next, rl.line);
    // Nothing older matches: the line stays as it is.
    this.#historySearch = found === undefined ? search : { query: search.query, next: found.next };
    if (found === undefined) return;
    rl.write(null, { ctrl: true, name: "e" });
    rl.write(null, { ctrl: true, name: "u" });
    rl.write(found.entry);
  }

  #saveHistory(history: string[]): void {
    try {
      saveHistory(this.#historyFile, history);
    } catch (error) {
      this.#error(error);
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
    if (this.#editor !== undefined) {
      this.#editor.abort();
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
    // A display is shown as its text, on a line of its own; a terminal has no output to clear.
    const text =
      chunk.stream === "display" && chunk.data !== "" && !chunk.data.endsWith("\n")
        ? `${chunk.data}\n`
        : chunk.data;
    (chunk.stream === "stderr" ? process.stderr : process.stdout).write(text);
    if (text !== "") this.#atLineStart = text.endsWith("\n");
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
