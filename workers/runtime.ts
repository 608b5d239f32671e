/**
 * What a session worker does with each request: runs every cell in the session's one
 * realm on this (the main) thread, streams its output, asks the host for `input()`,
 * answers checkpoint and restore requests. One cell runs at a time; the host enforces
 * that too. The wire itself belongs to the service thread (see executors/service-link.ts).
 */
import path from "node:path";
import type { HostMessage, MessageOf } from "../src/protocol/messages.ts";
import { CapabilityCalls } from "./capabilities.ts";
import { Checkpointing } from "./checkpointing.ts";
import { createSessionContext, type SessionContext } from "./context.ts";
import {
  CellInterrupt,
  describeCapsuleError,
  describeThrown,
  errorMessage,
  inputFailure,
} from "./errors.ts";
import { startCell } from "./executors/main-thread.ts";
import { type CellOutcome, type CellPlan, planOf } from "./executors/plan.ts";
import type { CellService, StrayNotice } from "./executors/service-link.ts";
import { introspect } from "./introspect.ts";
import { OutputBudget, type OutputStream } from "./output.ts";
import { renderResult } from "./render.ts";
import { strayNoticeText } from "./stray-notice.ts";
import { warmUp } from "./warm-up.ts";

export interface RuntimeOptions {
  moduleRoot: string;
  outputLimitBytes: number;
  checkpointMaxBytes: number;
  defaultTimeoutMs: number;
  service: CellService;
}

interface Running {
  id: string;
  token: number;
  /** A blocking cell's `input()` blocks and returns the answer; others get a promise. */
  blocking: boolean;
  /** The capabilities the host granted this cell. */
  capabilities: ReadonlySet<string>;
}

export class WorkerRuntime {
  #session: SessionContext;
  readonly #options: RuntimeOptions;
  readonly #service: CellService;
  readonly #output: OutputBudget;
  readonly #checkpoints: Checkpointing;
  readonly #capabilities: CapabilityCalls;
  readonly #inputs = new Map<
    string,
    { resolve(value: string): void; reject(error: Error): void }
  >();
  #running: Running | undefined;
  /** Output written after a cell ended (timers, callbacks) is attributed to the last cell. */
  #lastExecutionId = "none";
  #cellCount = 0;
  #inputCount = 0;
  /** The notice of a stray callback stopped for a cell that has not started yet. */
  #strayNotice: { executionId: string; text: string } | undefined;

  constructor(options: RuntimeOptions) {
    this.#options = options;
    this.#service = options.service;
    this.#output = new OutputBudget(
      (stream, data, truncated) => {
        this.#service.send({
          type: "output",
          execution_id: this.#running?.id ?? this.#lastExecutionId,
          stream,
          data,
          ...(truncated ? { truncated } : {}),
        });
      },
      options.outputLimitBytes,
      (item) =>
        this.#service.send({
          type: "display",
          execution_id: this.#running?.id ?? this.#lastExecutionId,
          ...item,
        }),
    );
    this.#capabilities = new CapabilityCalls({
      send: (message) => this.#service.send(message),
      running: () => this.#running,
    });
    this.#session = this.#createContext();
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
        display: (item) => this.#output.display(item),
        input: (prompt) => this.#askInput(prompt),
      },
    });
  }

  /** Idle time after READY (see warm-up.ts); nothing once a cell has run. */
  warmUp(checkpoints: boolean): Promise<void> {
    if (this.#cellCount > 0) return Promise.resolve();
    return warmUp(this.#session, checkpoints ? this.#checkpoints : undefined);
  }

  /** Writes from `process.stdout`/`process.stderr` inside the worker land here. */
  writeOutput(stream: OutputStream, data: string): void {
    this.#output.write(stream, data);
  }

  /** No cell is running now (a cell's stray callbacks may still be). */
  get idle(): boolean {
    return this.#running === undefined;
  }

  /**
   * A host message. `token` is the cell token the service thread gave an `execute`
   * (none: a cell is still running there). Called straight from the service thread's
   * message event, which is the dispatch point an interrupted cell unwinds to.
   */
  handle(message: HostMessage, token: number | undefined): void {
    switch (message.type) {
      case "execute":
        this.#execute(message, token);
        return;
      case "input_response":
        this.#answerInput(message);
        return;
      case "capability_result":
        this.#capabilities.answer(message);
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
      case "introspect":
        // Completion and inspection read the namespace between a cell's awaits (see introspect.ts).
        this.#service.send(introspect(this.#session.global, message));
        return;
      default:
        // cancel is the service thread's; heartbeats and session-layer kinds the channel's.
        return;
    }
  }

  /**
   * A callback that held the main thread without yielding was stopped. The user learns it
   * as stderr: in the output of the cell that waited for it (it explains that cell's wait,
   * just before its own output), else as output between cells (the session's `output`
   * event), like anything else a stray callback writes. A cell stopped already (timed out,
   * cancelled) says why in its own error.
   */
  strayStopped(notice: StrayNotice): void {
    const text = strayNoticeText(notice);
    if (text === undefined) return;
    // Not taken yet (it is behind this notice in the queue): that cell gets it first.
    if (notice.waitingCell !== undefined && this.#lastExecutionId !== notice.waitingCell)
      this.#strayNotice = { executionId: notice.waitingCell, text };
    else this.#output.write("stderr", text);
  }

  /** Wakes whatever the running cell waits for; the process is about to exit. */
  close(): void {
    this.#rejectInputs("input cancelled: the worker is shutting down");
    this.#capabilities.rejectFor(undefined, "CAPABILITY_CANCELLED", "the worker is shutting down");
  }

  #execute(message: MessageOf<"execute">, token: number | undefined): void {
    if (this.#running !== undefined || token === undefined) {
      this.#service.send(
        errorMessage(message.id, {
          code: "SESSION_BUSY",
          name: "SessionStateError",
          message: `cell ${this.#running?.id ?? "(unknown)"} is still running`,
        }),
      );
      return;
    }
    const plan = planOf(message, this.#options.defaultTimeoutMs);
    const running: Running = {
      id: message.id,
      token,
      blocking: plan.mode === "blocking_sync",
      capabilities: new Set(message.capabilities ?? []),
    };
    this.#running = running;
    this.#lastExecutionId = message.id;
    this.#output.reset();
    const notice = this.#strayNotice;
    this.#strayNotice = undefined;
    if (notice !== undefined && notice.executionId === message.id)
      this.#output.write("stderr", notice.text);
    for (const name of this.#capabilities.define(this.#session, running.capabilities)) {
      this.#output.write(
        "stderr",
        `[capsule: capability ${name} is hidden by a variable of that name]\n`,
      );
    }
    const filename = path.join(
      this.#options.moduleRoot,
      message.warm_up === true ? "capsule-warm-up.js" : `cell-${++this.#cellCount}.js`,
    );
    const started = performance.now();
    // Runs the synchronous part now; an interrupt may unwind it, and then the cell still
    // ends (with the interrupt), so a reply always goes out.
    startCell(
      plan,
      this.#session,
      { filename, token, service: this.#service },
      {
        succeeded: (outcome) => this.#succeeded(message, plan, running, outcome, started),
        failed: (thrown) => this.#failed(message, plan, running, thrown, filename),
      },
    );
  }

  #succeeded(
    message: MessageOf<"execute">,
    plan: CellPlan,
    running: Running,
    outcome: CellOutcome,
    started: number,
  ): void {
    if (message.warm_up !== true) {
      this.#session.modules.recordImports(plan.imports, this.#session.global);
      this.#session.recordResult(outcome.value);
    }
    const rendered = renderResult(outcome.value);
    const result: MessageOf<"result"> = {
      type: "result",
      execution_id: message.id,
      has_value: rendered.has_value,
      display: rendered.display,
      mode: outcome.mode,
      execution_time: performance.now() - started,
    };
    if (rendered.has_value && rendered.value !== undefined) result.value = rendered.value;
    if (takesCheckpoint(message)) {
      try {
        const checkpoint = this.#captureAfter(plan);
        if (checkpoint !== undefined) result.checkpoint = checkpoint;
      } catch (thrown) {
        const { code, message: reason } = describeCapsuleError(thrown);
        result.checkpoint_error = { code, message: reason };
      }
    }
    this.#finish(running, plan);
    this.#service.endCell(running.token, result);
  }

  #failed(
    message: MessageOf<"execute">,
    plan: CellPlan,
    running: Running,
    thrown: unknown,
    filename: string,
  ): void {
    // What the cell threw is `_error`, as in the REPL; a cancel or timeout is not an error of the cell's.
    if (message.warm_up !== true) {
      if (!(thrown instanceof CellInterrupt)) this.#session.recordError(thrown);
      this.#session.modules.recordImports(plan.imports, this.#session.global);
    }
    const fields = describeThrown(thrown, `${path.dirname(filename)}${path.sep}`);
    const failure: MessageOf<"error"> = { ...errorMessage(message.id, fields), mode: plan.mode };
    if (takesCheckpoint(message)) {
      // What the cell did before it failed or was stopped stays in the namespace: the
      // host's copy must have it too, or a crash later would quietly undo it. A failing
      // capture leaves the next one full (the checkpointer starts over), so nothing is
      // lost for long.
      try {
        const checkpoint = this.#captureAfter(plan);
        if (checkpoint !== undefined) failure.checkpoint = checkpoint;
      } catch {
        this.#checkpoints.rebase(this.#session);
      }
    }
    this.#finish(running, plan);
    this.#service.endCell(running.token, failure);
  }

  #captureAfter(plan: CellPlan) {
    return this.#checkpoints.capture({ declared: plan.declared, used: plan.free });
  }

  /** Ends the cell's bookkeeping; the reply (`endCell`) follows. */
  #finish(running: Running, plan: CellPlan): void {
    if (this.#running === running) this.#running = undefined;
    // Listing the namespace costs more than running `1 + 1`: only a cell that names
    // something can have changed it (a timer's change is counted at the next such cell).
    if (plan.declared.length > 0 || plan.free.length > 0 || plan.assigned.length > 0)
      this.#service.setNamespaceSize(this.#session.userNames().length);
    // A cancelled or finished cell wakes any `input()` or capability call it left waiting.
    this.#rejectInputs("input cancelled: the cell ended");
    this.#capabilities.rejectFor(
      running.id,
      "CAPABILITY_CANCELLED",
      "capability call abandoned: the cell ended (cancelled, timed out or finished)",
    );
  }

  #rejectInputs(reason: string): void {
    for (const [id, pending] of this.#inputs) {
      pending.reject(new Error(reason));
      this.#inputs.delete(id);
    }
  }

  #askInput(prompt: string): Promise<string> | string {
    const running = this.#running;
    if (running === undefined) throw new Error("input() is only available while a cell runs");
    const id = `in-${++this.#inputCount}`;
    const request: MessageOf<"input"> = { type: "input", id, execution_id: running.id, prompt };
    if (running.blocking) {
      const answer = this.#service.askInputSync(request);
      // The reason travels in the answer's place, so the cell's error says why.
      if (answer.cancelled) throw inputFailure(answer.value, answer.code);
      return answer.value;
    }
    return new Promise<string>((resolve, reject) => {
      this.#inputs.set(id, { resolve, reject });
      this.#service.send(request);
    });
  }

  #answerInput(message: MessageOf<"input_response">): void {
    const pending = this.#inputs.get(message.input_id);
    if (pending === undefined) return; // answered after its cell ended: nothing waits for it
    this.#inputs.delete(message.input_id);
    if (message.cancelled) pending.reject(inputFailure(message.value, message.code));
    else pending.resolve(message.value);
  }

  #sendCheckpoint(id: string): void {
    try {
      const checkpoint = this.#checkpoints.capture("full");
      if (checkpoint === undefined) throw new Error("a full checkpoint is never empty");
      this.#service.send({ type: "checkpoint", execution_id: id, ...checkpoint });
    } catch (thrown) {
      this.#service.send(errorMessage(id, describeCapsuleError(thrown)));
    }
  }

  async #restore(message: MessageOf<"restore">): Promise<void> {
    // Its continuations run from the event loop: no stray stop may cut them.
    this.#service.busy(1);
    try {
      const restored = await this.#checkpoints.restore(message.chain);
      this.#service.send({
        type: "restored",
        id: message.id,
        names: restored.names,
        failed: restored.failed,
      });
    } catch (thrown) {
      this.#service.send(errorMessage(message.id, describeCapsuleError(thrown)));
    } finally {
      this.#service.busy(-1);
    }
  }

  /** Drops the namespace: a new context, as in a fresh worker. */
  #reset(id: string): void {
    if (this.#running !== undefined) {
      this.#service.send(
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
    this.#service.send({ type: "restored", id, names: [], failed: [] });
  }
}

/** A cell is followed by a checkpoint unless the host said no, or it is a warm-up cell. */
function takesCheckpoint(message: MessageOf<"execute">): boolean {
  return message.checkpoint !== false && message.warm_up !== true;
}
