/**
 * `capsule exec [--session NAME] <code | ->`: runs one cell and prints its result.
 * With a session name the cell is the session's next durable cell in the store (its
 * namespace continues across processes); without, it runs in a throwaway session.
 * Output streams as it comes; `input()` is answered from stdin lines; Ctrl-C cancels
 * the cell (exit 130).
 */
import { text } from "node:stream/consumers";
import type { DurableOutputChunk } from "../../durable/index.ts";
import { CapsuleError } from "../errors.ts";
import {
  type ExecuteOptions,
  type ExecutionResult,
  type OutputChunk,
  SessionPool,
} from "../session/index.ts";
import { errorJson, resultText, toJson } from "./format.ts";
import { LineQueue } from "./line-queue.ts";
import { openStore, type StoreOptions } from "./store.ts";
import { type Spinner, startSpinner } from "./terminal.ts";

export interface ExecOptions extends StoreOptions {
  session?: string;
  json?: boolean;
  timeout?: number;
}

interface ExecOutcome {
  result?: ExecutionResult;
  error?: unknown;
}

/** Reads the cell: the argument itself, or all of stdin for `-`. */
export async function readCell(code: string): Promise<string> {
  return code === "-" ? await text(process.stdin) : code;
}

/** Streams output to the terminal, keeping the spinner off the text. */
class LiveOutput {
  readonly #spinner: Spinner;
  /** Whether stdout ends with a newline, so the result starts on a line of its own. */
  #atLineStart = true;

  constructor(spinner: Spinner) {
    this.#spinner = spinner;
  }

  write(chunk: OutputChunk): void {
    this.#spinner.pause();
    // A display() prints as its text, on a line of its own (a clear has none).
    const data =
      chunk.stream === "display" && chunk.data !== "" && !chunk.data.endsWith("\n")
        ? `${chunk.data}\n`
        : chunk.data;
    if (chunk.stream === "stderr") process.stderr.write(data);
    else if (data !== "") {
      process.stdout.write(data);
      this.#atLineStart = data.endsWith("\n");
    }
    if (data.endsWith("\n")) this.#spinner.resume();
  }

  /** Ends a partial line of stdout; `echoed` says the terminal already moved on (Enter). */
  endLine(echoed = false): void {
    if (!this.#atLineStart && !echoed) process.stdout.write("\n");
    this.#atLineStart = true;
  }
}

/**
 * Runs the cell and prints it. Returns the error the cell ended with (printed by the
 * caller), or undefined on success.
 */
export async function execCommand(code: string, options: ExecOptions): Promise<unknown> {
  const json = options.json === true;
  const output: DurableOutputChunk[] = [];
  const spinner = startSpinner("running", !json && process.stdout.isTTY === true);
  const live = new LiveOutput(spinner);
  let answers: LineQueue | undefined;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on("SIGINT", onSigint);
  const execOptions = {
    signal: controller.signal,
    ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout }),
    onOutput: (chunk: DurableOutputChunk) => {
      output.push(chunk);
      if (!json) live.write(chunk);
    },
    onInput: async (prompt: string) => {
      if (!json) live.write({ stream: "stdout", data: prompt });
      answers ??= new LineQueue(process.stdin);
      const answer = await answers.next(controller.signal);
      if (answer === null) {
        throw new CapsuleError("INPUT_UNAVAILABLE", "input() got no answer: stdin ended");
      }
      if (!json) live.endLine(process.stdin.isTTY === true);
      spinner.resume();
      return answer;
    },
  };
  const outcome: ExecOutcome = {};
  try {
    outcome.result =
      options.session === undefined
        ? await runThrowaway(code, execOptions)
        : await runDurable(options, options.session, code, execOptions);
  } catch (error) {
    outcome.error = error;
  } finally {
    spinner.stop();
    process.off("SIGINT", onSigint);
    answers?.close();
  }
  if (json) {
    process.stdout.write(
      `${toJson(
        outcome.result === undefined
          ? { ok: false, error: errorJson(outcome.error), output }
          : { ok: true, ...outcome.result, output },
      )}\n`,
    );
    return outcome.error;
  }
  live.endLine();
  if (outcome.result !== undefined) {
    const shown = resultText(outcome.result);
    if (shown !== undefined) process.stdout.write(`${shown}\n`);
  }
  return outcome.error;
}

type CellOptions = Omit<ExecuteOptions, "onOutput"> & {
  onOutput: (chunk: DurableOutputChunk) => void;
};

async function runThrowaway(code: string, options: CellOptions): Promise<ExecutionResult> {
  const pool = new SessionPool({ minIdle: 0, maxSessions: 1, checkpoint: false });
  try {
    const session = await pool.acquire();
    try {
      return await session.execute(code, options);
    } finally {
      session.release();
    }
  } finally {
    await pool.close();
  }
}

async function runDurable(
  store: StoreOptions,
  name: string,
  code: string,
  options: CellOptions,
): Promise<ExecutionResult> {
  const capsule = await openStore(store);
  try {
    const {
      output: _recorded,
      replayed: _replayed,
      ...result
    } = await capsule.session(name).execute(code, options);
    return result;
  } finally {
    await capsule.close();
  }
}
