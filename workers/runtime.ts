/**
 * What a session worker does with each request: runs cells on the right executor,
 * streams their output, asks the host for `input()`, answers checkpoint and restore
 * requests. One cell runs at a time; the host enforces that too.
 */
import path from "node:path";
import { CapsuleError } from "../src/errors.ts";
import type {
  ExecutionMode,
  HostMessage,
  MessageOf,
  WorkerMessage,
} from "../src/protocol/messages.ts";
import { Checkpointing } from "./checkpointing.ts";
import { createSessionContext, type SessionContext } from "./context.ts";
import { describeThrown, type WireErrorFields } from "./errors.ts";
import { runOnMainThread } from "./executors/main-thread.ts";
import type { CellPlan } from "./executors/plan.ts";
import { ThreadedCellError, ThreadedExecutor } from "./executors/threaded.ts";
import { OutputBudget, type OutputStream } from "./output.ts";
import { type RenderedResult, renderResult } from "./render.ts";

export interface RuntimeOptions {
  moduleRoot: string;
  outputLimitBytes: number;
  checkpointMaxBytes: number;
  defaultTimeoutMs: number;
  send(message: WorkerMessage): void;
}

interface Running {
  id: string;
  abort: AbortController;
}

export class WorkerRuntime {
  #session: SessionContext;
  readonly #options: RuntimeOptions;
  readonly #threaded: ThreadedExecutor;
  readonly #output: OutputBudget;
  readonly #checkpoints: Checkpointing;
  readonly #inputs = new Map<
    string,
    { resolve(value: string): void; reject(error: Error): void }
  >();
  #running: Running | undefined;
  /** Output written after a cell ended (timers, callbacks) is attributed to the last cell. */
  #lastExecutionId = "none";
  #cellCount = 0;
  #inputCount = 0;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#output = new OutputBudget((stream, data, truncated) => {
      options.send({
        type: "output",
        execution_id: this.#running?.id ?? this.#lastExecutionId,
        stream,
        data,
        ...(truncated ? { truncated } : {}),
      });
    }, options.outputLimitBytes);
    this.#session = this.#createContext();
    this.#threaded = new ThreadedExecutor({
      moduleRoot: options.moduleRoot,
      modules: () => this.#session.modules,
    });
    this.#checkpoints = new Checkpointing({
      session: this.#session,
      modules: () => this.#session.modules,
      maxBytes: options.checkpointMaxBytes,
    });
  }

  #createContext(): SessionContext {
    return createSessionContext({
      moduleRoot: this.#options.moduleRoot,
      io: {
        write: (stream, data) => this.#output.write(stream, data),
        display: (value) => this.#output.write("display", renderResult(value).display),
        input: (prompt) => this.#askInput(prompt),
      },
    });
  }

  /** Writes from `process.stdout`/`process.stderr` inside the worker land here. */
  writeOutput(stream: OutputStream, data: string): void {
    this.#output.write(stream, data);
  }

  get namespaceSize(): number {
    return this.#session.userNames().length;
  }

  handle(message: HostMessage): void {
    switch (message.type) {
      case "execute":
        void this.#execute(message);
        return;
      case "cancel":
        if (this.#running?.id === message.execution_id) this.#running.abort.abort();
        return;
      case "input_response":
        this.#answerInput(message);
        return;
      case "checkpoint_request":
        this.#sendCheckpoint(message.id);
        return;
      case "restore":
        void this.#restore(message);
        return;
      case "reset":
        this.#reset(message.id);
        return;
      default:
        // shutdown, heartbeats and session-layer kinds are handled by the worker's entry.
        return;
    }
  }

  async close(): Promise<void> {
    this.#running?.abort.abort();
    await this.#threaded.close();
  }

  async #execute(message: MessageOf<"execute">): Promise<void> {
    if (this.#running !== undefined) {
      this.#options.send(
        errorMessage(message.id, {
          code: "SESSION_BUSY",
          name: "SessionStateError",
          message: `cell ${this.#running.id} is still running`,
        }),
      );
      return;
    }
    const plan: CellPlan = {
      id: message.id,
      source: message.code,
      async: message.async ?? false,
      mode: message.mode ?? "simple_sync",
      timeoutMs: message.timeout_ms ?? this.#options.defaultTimeoutMs,
      declared: message.declared ?? [],
      free: message.free ?? [],
      assigned: message.assigned ?? [],
      imports: message.imports ?? [],
      bounded: message.bounded ?? false,
    };
    const running: Running = { id: message.id, abort: new AbortController() };
    this.#running = running;
    this.#lastExecutionId = message.id;
    this.#output.reset();
    const filename = path.join(this.#options.moduleRoot, `cell-${++this.#cellCount}.js`);
    const started = performance.now();
    let mode: ExecutionMode = plan.mode;
    try {
      let rendered: RenderedResult;
      if (plan.mode === "blocking_sync") {
        const outcome = await this.#threaded.run(plan, this.#session, {
          filename,
          signal: running.abort.signal,
          hooks: {
            output: (stream, data) => this.#output.write(stream, data),
            input: (prompt) => this.#askInput(prompt),
            loadModule: this.#session.modules.load,
          },
        });
        rendered = outcome.result;
        for (const { name, reason } of outcome.uncaptured) {
          this.#output.write("stderr", `[capsule: "${name}" was not merged back: ${reason}]\n`);
        }
      } else {
        const outcome = await runOnMainThread(plan, this.#session, {
          filename,
          signal: running.abort.signal,
        });
        mode = outcome.mode;
        rendered = renderResult(outcome.value);
      }
      this.#session.modules.recordImports(plan.imports, this.#session.global);
      this.#finish(running);
      const result: MessageOf<"result"> = {
        type: "result",
        execution_id: message.id,
        has_value: rendered.has_value,
        display: rendered.display,
        mode,
        execution_time: performance.now() - started,
      };
      if (rendered.has_value && rendered.value !== undefined) result.value = rendered.value;
      if (message.checkpoint !== false) {
        try {
          const checkpoint = this.#captureAfter(plan);
          if (checkpoint !== undefined) result.checkpoint = checkpoint;
        } catch (thrown) {
          const { code, message: reason } = describeCapsuleError(thrown);
          result.checkpoint_error = { code, message: reason };
        }
      }
      this.#options.send(result);
    } catch (thrown) {
      this.#finish(running);
      const fields =
        thrown instanceof ThreadedCellError
          ? thrown.fields.error
          : describeThrown(thrown, `${path.dirname(filename)}${path.sep}`);
      const failure: MessageOf<"error"> = { ...errorMessage(message.id, fields), mode };
      if (message.checkpoint !== false) {
        // What the cell did before it failed stays in the namespace: the host's copy must
        // have it too, or a crash later would quietly undo it. A failing capture leaves
        // the next one full (the checkpointer starts over), so nothing is lost for long.
        try {
          const checkpoint = this.#captureAfter(plan);
          if (checkpoint !== undefined) failure.checkpoint = checkpoint;
        } catch {
          this.#checkpoints.rebase(this.#session);
        }
      }
      this.#options.send(failure);
    }
  }

  #captureAfter(plan: CellPlan) {
    return this.#checkpoints.capture({ declared: plan.declared, used: plan.free });
  }

  #finish(running: Running): void {
    if (this.#running === running) this.#running = undefined;
    // A cancelled or finished cell wakes any `input()` it left waiting.
    for (const [id, pending] of this.#inputs) {
      pending.reject(new Error("input cancelled: the cell ended"));
      this.#inputs.delete(id);
    }
  }

  #askInput(prompt: string): Promise<string> {
    const running = this.#running;
    if (running === undefined)
      return Promise.reject(new Error("input() is only available while a cell runs"));
    const id = `in-${++this.#inputCount}`;
    return new Promise<string>((resolve, reject) => {
      this.#inputs.set(id, { resolve, reject });
      running.abort.signal.addEventListener(
        "abort",
        () => {
          if (this.#inputs.delete(id)) reject(new Error("input cancelled"));
        },
        { once: true },
      );
      this.#options.send({ type: "input", id, execution_id: running.id, prompt });
    });
  }

  #answerInput(message: MessageOf<"input_response">): void {
    const pending = this.#inputs.get(message.input_id);
    if (pending === undefined) return; // answered after its cell ended: nothing waits for it
    this.#inputs.delete(message.input_id);
    if (message.cancelled)
      pending.reject(new Error(message.value || "input cancelled by the host"));
    else pending.resolve(message.value);
  }

  #sendCheckpoint(id: string): void {
    try {
      const checkpoint = this.#checkpoints.capture("full");
      if (checkpoint === undefined) throw new Error("a full checkpoint is never empty");
      this.#options.send({ type: "checkpoint", execution_id: id, ...checkpoint });
    } catch (thrown) {
      this.#options.send(errorMessage(id, describeCapsuleError(thrown)));
    }
  }

  async #restore(message: MessageOf<"restore">): Promise<void> {
    try {
      const restored = await this.#checkpoints.restore(message.chain);
      this.#options.send({
        type: "restored",
        id: message.id,
        names: restored.names,
        failed: restored.failed,
      });
    } catch (thrown) {
      this.#options.send(errorMessage(message.id, describeCapsuleError(thrown)));
    }
  }

  /** Drops the namespace: a new context, as in a fresh worker. */
  #reset(id: string): void {
    if (this.#running !== undefined) {
      this.#options.send(
        errorMessage(id, {
          code: "SESSION_BUSY",
          name: "SessionStateError",
          message: "cannot reset while a cell runs",
        }),
      );
      return;
    }
    this.#session = this.#createContext();
    this.#checkpoints.rebase(this.#session);
    this.#options.send({ type: "restored", id, names: [], failed: [] });
  }
}

/** Capsule's own failures (a checkpoint too large, a malformed restore) keep their code. */
function describeCapsuleError(thrown: unknown): WireErrorFields {
  if (thrown instanceof CapsuleError)
    return { code: thrown.code, name: thrown.name, message: thrown.message };
  return describeThrown(thrown, "");
}

function errorMessage(executionId: string, fields: WireErrorFields): MessageOf<"error"> {
  return { type: "error", execution_id: executionId, ...fields };
}
