/**
 * execute_request: runs the code as the next durable cell of the notebook's session and
 * publishes what Jupyter frontends expect, in order: execute_input, the cell's streams
 * and displays as they come, then execute_result or error, then the reply.
 */
import type { DurableOutputChunk, NamedSession } from "../../durable/index.ts";
import { resultText } from "../cli/format.ts";
import { CapsuleError, ExecutionError, isCapsuleError } from "../errors.ts";
import { displayProbe } from "./display-probe.ts";
import type { HistoryEntry } from "./history.ts";
import type { JsonObject, Message } from "./wire.ts";

/** How the execute handler talks to the frontend. */
export interface ExecuteIo {
  publish(msgType: string, content: JsonObject, parent: Message): void;
  /** Asks the frontend for a line on stdin (input_request); rejects when interrupted. */
  input(prompt: string, parent: Message, signal: AbortSignal): Promise<string>;
}

export interface ExecuteOutcome {
  reply: JsonObject;
  /** Set when the cell failed (the shell queue aborts queued cells on stop_on_error). */
  failed: boolean;
  history?: HistoryEntry;
}

const PROBE_TIMEOUT_MS = 5_000;

/** The error's `ename`, `evalue` and `traceback`, as Jupyter shows them. */
export function errorContent(error: unknown): {
  ename: string;
  evalue: string;
  traceback: string[];
} {
  if (error instanceof ExecutionError) {
    // The message is "<name>: <message>[ (line L, column C)]"; Jupyter wants the bare message.
    const where =
      error.line === undefined ? "" : ` (line ${error.line}, column ${error.column ?? 0})`;
    let evalue = error.message;
    if (evalue.startsWith(`${error.errorName}: `))
      evalue = evalue.slice(error.errorName.length + 2);
    if (where !== "" && evalue.endsWith(where)) evalue = evalue.slice(0, -where.length);
    return { ename: error.errorName, evalue, traceback: error.userStack.split("\n") };
  }
  if (isCapsuleError(error)) {
    return {
      ename: error.code,
      evalue: error.message,
      traceback: [`${error.code}: ${error.message}`],
    };
  }
  const plain = error instanceof Error ? error : new Error(String(error));
  return {
    ename: plain.name,
    evalue: plain.message,
    traceback: (plain.stack ?? plain.message).split("\n"),
  };
}

/**
 * Whether the last result `_` has a `Jupyter.display` method, asked without a cell (an
 * introspect request): most results have none, and the peek that runs the method costs
 * a whole cell.
 */
async function offersDisplay(session: NamedSession): Promise<boolean> {
  try {
    return (await session.introspect({ kind: "display", path: ["_"], prefix: "" })).found;
  } catch (error) {
    if (isCapsuleError(error) && error.code === "INTROSPECT_TIMEOUT") return false;
    throw error;
  }
}

/** A MIME bundle the value offers through `Symbol.for("Jupyter.display")`, read by a peek. */
async function richBundle(session: NamedSession): Promise<JsonObject | undefined> {
  const marker = `\u0000capsule-display:`;
  let printed = "";
  await session.peek(
    `(() => { const bundle = (${displayProbe.toString()})(typeof _ === "undefined" ? undefined : _);` +
      ` if (bundle !== null) console.log(${JSON.stringify(marker)} + JSON.stringify(bundle)); })(),` +
      ` (typeof _ === "undefined" ? undefined : _)`,
    {
      mode: "simple_sync",
      timeoutMs: PROBE_TIMEOUT_MS,
      onOutput: (chunk) => {
        if (chunk.stream === "stdout") printed += chunk.data;
      },
    },
  );
  const line = printed.split("\n").find((text) => text.startsWith(marker));
  return line === undefined ? undefined : (JSON.parse(line.slice(marker.length)) as JsonObject);
}

/**
 * The iopub message for a piece of a cell's output: a stream, or a rich display as
 * `display_data`, `update_display_data` (a `display_id` shown before) or `clear_output`.
 */
export function outputMessage(chunk: DurableOutputChunk): { msgType: string; content: JsonObject } {
  const rich = chunk.rich;
  if (rich === undefined) {
    if (chunk.stream !== "display")
      return { msgType: "stream", content: { name: chunk.stream, text: chunk.data } };
    // Text only: a display over the output budget (its marker).
    return {
      msgType: "display_data",
      content: { data: { "text/plain": chunk.data }, metadata: {}, transient: {} },
    };
  }
  if (rich.action === "clear")
    return { msgType: "clear_output", content: { wait: rich.wait === true } };
  return {
    msgType: rich.action === "update" ? "update_display_data" : "display_data",
    content: {
      data: rich.data,
      metadata: rich.metadata ?? {},
      transient: rich.displayId === undefined ? {} : { display_id: rich.displayId },
    },
  };
}

export async function executeRequest(options: {
  session: NamedSession;
  request: Message;
  executionCount: number;
  signal: AbortSignal;
  io: ExecuteIo;
  timeoutMs?: number;
}): Promise<ExecuteOutcome> {
  const { session, request, executionCount, signal, io } = options;
  const content = request.content;
  const code = typeof content.code === "string" ? content.code : "";
  const silent = content.silent === true;
  const allowStdin = content.allow_stdin !== false;
  if (!silent) io.publish("execute_input", { code, execution_count: executionCount }, request);
  if (code.trim() === "") {
    return {
      reply: { status: "ok", execution_count: executionCount, user_expressions: {}, payload: [] },
      failed: false,
    };
  }
  const onOutput = (chunk: DurableOutputChunk) => {
    if (silent) return;
    const shown = outputMessage(chunk);
    io.publish(shown.msgType, shown.content, request);
  };
  const onInput = (prompt: string) => {
    if (!allowStdin) {
      throw new CapsuleError(
        "INPUT_NOT_ALLOWED",
        "input() is not available: this frontend does not accept input",
      );
    }
    return io.input(prompt, request, signal);
  };
  try {
    const result = await session.execute(code, {
      signal,
      onOutput,
      onInput,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    const text = resultText(result);
    let bundle: JsonObject | undefined;
    if (!result.hasValue && text !== undefined && !silent && (await offersDisplay(session)))
      bundle = await richBundle(session);
    if (bundle !== undefined || text !== undefined) {
      const data: JsonObject = { "text/plain": text ?? "", ...bundle };
      if (!silent)
        io.publish(
          "execute_result",
          { execution_count: executionCount, data, metadata: {} },
          request,
        );
    }
    return {
      reply: { status: "ok", execution_count: executionCount, user_expressions: {}, payload: [] },
      failed: false,
      history: { line: executionCount, code, output: text ?? null },
    };
  } catch (error) {
    const shown = errorContent(error);
    if (!silent) io.publish("error", shown, request);
    return {
      reply: { status: "error", execution_count: executionCount, ...shown },
      failed: true,
      history: { line: executionCount, code, output: null },
    };
  }
}
