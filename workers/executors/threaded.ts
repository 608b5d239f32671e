/**
 * The threaded executor: runs a blocking cell on a worker thread so the session process
 * stays responsive (heartbeats, live output, `input()` answered over the pipe). Cancel
 * and timeout end the thread; nothing is merged back, so the namespace is exactly as it
 * was before the cell. One thread is kept warm between cells and replaced after a stop.
 */
import { Worker } from "node:worker_threads";
import { decodeNamespace, encodeNamespace } from "../../src/checkpoint/index.ts";
import type { SessionContext } from "../context.ts";
import { CellInterrupt } from "../errors.ts";
import type { ModuleRef, ModuleRegistry } from "../modules.ts";
import type { RenderedResult } from "../render.ts";
import type { CellPlan } from "./plan.ts";
import {
  type FromThread,
  INPUT_BUFFER_BYTES,
  INPUT_HEADER_BYTES,
  INPUT_LENGTH,
  INPUT_STATE,
  InputState,
  type ThreadRun,
} from "./thread-protocol.ts";

export interface ThreadedHooks {
  output(stream: "stdout" | "stderr" | "display", data: string): void;
  input(prompt: string): Promise<string>;
  loadModule(specifier: string, binding: ModuleRef): Promise<unknown>;
}

/** Raised in the main thread when the blocking cell itself failed; carries the wire fields. */
export class ThreadedCellError extends Error {
  readonly fields: FromThread & { type: "failed" };
  constructor(fields: FromThread & { type: "failed" }) {
    super(fields.error.message);
    this.fields = fields;
  }
}

export class ThreadedExecutor {
  readonly #moduleRoot: string;
  readonly #modules: () => ModuleRegistry;
  #thread: Worker | undefined;

  constructor(options: { moduleRoot: string; modules: () => ModuleRegistry }) {
    this.#moduleRoot = options.moduleRoot;
    this.#modules = options.modules;
  }

  async run(
    plan: CellPlan,
    session: SessionContext,
    options: { filename: string; signal: AbortSignal; hooks: ThreadedHooks },
  ): Promise<{ result: RenderedResult; uncaptured: { name: string; reason: string }[] }> {
    // The whole namespace, not just the cell's names: a function the cell calls may use
    // any other top-level name. Copying costs O(namespace) per blocking cell.
    const needed = session.userNames();
    const copy = encodeNamespace(
      needed.map((name) => [name, session.global[name]] as [string, unknown]),
      { moduleOf: this.#modules().refOf, contextGlobals: session.reserved },
    );
    for (const { name, reason } of copy.uncaptured) {
      options.hooks.output(
        "stderr",
        `[capsule: blocking cell runs without "${name}": ${reason}]\n`,
      );
    }
    const input = new SharedArrayBuffer(INPUT_BUFFER_BYTES);
    const thread = this.#ensureThread();
    const request: ThreadRun = {
      type: "run",
      plan,
      filename: options.filename,
      namespace: copy.data,
      moduleRoot: this.#moduleRoot,
      input,
    };

    const finished = await new Promise<FromThread & { type: "done" | "failed" }>(
      (resolve, reject) => {
        const stop = (interrupt: CellInterrupt) => {
          cleanup();
          // Wake an `input()` first: a thread parked in Atomics.wait must not outlive the cell.
          answerInput(input, "", InputState.cancelled);
          this.#discardThread();
          reject(interrupt);
        };
        const timer = setTimeout(
          () =>
            stop(
              new CellInterrupt("LIMIT_TIMEOUT", `execution timed out after ${plan.timeoutMs} ms`),
            ),
          plan.timeoutMs,
        );
        const onAbort = () => stop(new CellInterrupt("EXECUTION_CANCELLED", "execution cancelled"));
        const onError = (error: Error) => {
          cleanup();
          this.#thread = undefined;
          reject(error);
        };
        const onExit = (code: number) =>
          onError(new Error(`blocking-cell thread exited with code ${code}`));
        const onMessage = (message: FromThread) => {
          switch (message.type) {
            case "output":
              options.hooks.output(message.stream, message.data);
              return;
            case "input":
              options.hooks.input(message.prompt).then(
                (answer) => answerInput(input, answer, InputState.answered),
                // The reason travels in the answer's place, so the cell's error says why.
                (error: unknown) =>
                  answerInput(
                    input,
                    error instanceof Error ? error.message : String(error),
                    InputState.cancelled,
                  ),
              );
              return;
            case "done":
            case "failed":
              cleanup();
              resolve(message);
              return;
          }
        };
        const cleanup = () => {
          clearTimeout(timer);
          options.signal.removeEventListener("abort", onAbort);
          thread.off("message", onMessage);
          thread.off("error", onError);
          thread.off("exit", onExit);
        };
        thread.on("message", onMessage);
        thread.on("error", onError);
        thread.on("exit", onExit);
        if (options.signal.aborted) return onAbort();
        options.signal.addEventListener("abort", onAbort, { once: true });
        thread.postMessage(request);
      },
    );

    // Merge-only: each returned name is set on its own; nothing else in the namespace moves.
    const merged =
      finished.changes === undefined
        ? { failed: [] }
        : await this.#merge(finished.changes, session, options.hooks.loadModule);
    if (finished.type === "failed") throw new ThreadedCellError(finished);
    return { result: finished.result, uncaptured: [...finished.uncaptured, ...merged.failed] };
  }

  async #merge(
    changes: Uint8Array,
    session: SessionContext,
    loadModule: ThreadedHooks["loadModule"],
  ): Promise<{ failed: { name: string; reason: string }[] }> {
    const decoded = await decodeNamespace(changes, session.context, { loadModule });
    for (const [name, value] of decoded.values) session.global[name] = value;
    return decoded;
  }

  async close(): Promise<void> {
    const thread = this.#thread;
    this.#thread = undefined;
    if (thread !== undefined) await thread.terminate();
  }

  #ensureThread(): Worker {
    if (this.#thread === undefined) {
      // No `resourceLimits`: the process's --max-old-space-size overrides them anyway, so
      // a thread over the heap limit ends the worker, which is restored from its checkpoint.
      this.#thread = new Worker(new URL("./thread-main.ts", import.meta.url));
      // The thread must never keep the session process alive on its own.
      this.#thread.unref();
    }
    return this.#thread;
  }

  #discardThread(): void {
    const thread = this.#thread;
    this.#thread = undefined;
    void thread?.terminate();
  }
}

function answerInput(
  buffer: SharedArrayBuffer,
  answer: string,
  outcome: typeof InputState.answered | typeof InputState.cancelled,
): void {
  const state = new Int32Array(buffer, 0, 2);
  const bytes = new TextEncoder().encode(answer);
  const room = new Uint8Array(buffer, INPUT_HEADER_BYTES);
  const length = Math.min(bytes.length, room.length);
  room.set(bytes.subarray(0, length));
  Atomics.store(state, INPUT_LENGTH, length);
  Atomics.store(state, INPUT_STATE, outcome);
  Atomics.notify(state, INPUT_STATE);
}
