/**
 * A Session: one isolated worker process with a persistent namespace.
 *
 * States: CREATED → STARTING → READY ⇄ BUSY → TERMINATED. When the worker dies (kill -9,
 * out of memory, `process.exit()` in a cell) the running cell fails with the reason and
 * the session gets a fresh worker restored from its last checkpoint, so the next cell
 * sees the namespace as of the last completed one. Repeated crashes within a window stop
 * with `RESPAWN_LIMIT` instead of looping.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { CancelledError, CapsuleError, SessionStateError, TimeoutError } from "../errors.ts";
import { type PreparedCell, prepareCell } from "../prepare/index.ts";
import type { WorkerMessage } from "../protocol/messages.ts";
import { CheckpointChain, type RestoreReport, type SessionCheckpoint } from "./checkpoint-chain.ts";
import type { ExitInfo } from "./crash.ts";
import {
  type ExecuteOptions,
  type ExecutionResult,
  type OutputChunk,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
} from "./options.ts";
import { errorFromWire } from "./wire-errors.ts";
import { WorkerProcess } from "./worker-process.ts";

export type SessionState = "CREATED" | "STARTING" | "READY" | "BUSY" | "TERMINATED";

/** Set by a `SessionPool` on the sessions it owns. */
export interface SessionHooks {
  onRelease?: (session: Session) => void;
}

/** Extra time the host gives a worker to report a timeout or cancel before it kills it. */
const BACKSTOP_GRACE_MS = 2000;
const SIGINT_RETRIES_MS = [150, 500];

export interface SessionEvents {
  /** Output that arrived between cells (a timer a cell left behind, native writes). */
  output: [chunk: OutputChunk];
  /** The worker process ended (crash, limit, kill); a replacement follows unless closing. */
  "worker-exit": [info: ExitInfo];
  /** A replacement worker is READY, restored from the last checkpoint. */
  respawn: [pid: number];
  /** The session ended for good: closed, or it gave up respawning (`error` says why). */
  terminated: [error: CapsuleError | undefined];
}

export class Session extends EventEmitter<SessionEvents> {
  readonly id: string;
  readonly options: ResolvedSessionOptions;
  #state: SessionState = "CREATED";
  #worker: WorkerProcess | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #executions = 0;
  #crashes: number[] = [];
  #terminalError: CapsuleError | undefined;
  readonly #checkpoints = new CheckpointChain();

  readonly #hooks: SessionHooks;

  constructor(options: SessionOptions = {}, id: string = randomUUID(), hooks: SessionHooks = {}) {
    super();
    this.id = id;
    this.options = resolveSessionOptions(options);
    this.#hooks = hooks;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Pid of the current worker process (it changes when a crashed worker is replaced). */
  get pid(): number | undefined {
    return this.#worker?.pid;
  }

  /** Cells executed by this session, over all its workers. */
  get executions(): number {
    return this.#executions;
  }

  /** Resident memory of the worker at its last heartbeat, in bytes. */
  get memoryUsage(): number {
    return this.#worker?.lastRss ?? 0;
  }

  /** Starts the worker. Resolves when it is READY. */
  start(): Promise<void> {
    if (this.#state !== "CREATED") throw this.#stateError("start");
    this.#state = "STARTING";
    this.#starting = this.#spawn(undefined);
    return this.#starting;
  }

  /** Runs one cell. Rejects with `ExecutionError`, a limit error, or `WorkerCrashedError`. */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    if (this.#state === "STARTING") await this.#starting;
    if (this.#state !== "READY") throw this.#stateError("execute");
    const prepared = prepareCell(code, options.mode === undefined ? {} : { mode: options.mode });
    const worker = this.#worker;
    if (worker === undefined) throw this.#stateError("execute");
    this.#state = "BUSY";
    this.#executions++;
    try {
      return await this.#run(worker, `${this.id}:${this.#executions}`, prepared, options);
    } finally {
      if (this.#state === "BUSY") this.#state = "READY";
    }
  }

  /** A full checkpoint of the namespace, taken now. */
  async checkpoint(): Promise<SessionCheckpoint> {
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if (this.#state !== "READY" || worker === undefined) throw this.#stateError("checkpoint");
    const id = `${this.id}:cp:${randomUUID()}`;
    await new Promise<void>((resolve, reject) => {
      worker.request(
        id,
        { type: "checkpoint_request", id },
        {
          onMessage: (message) => {
            if (message.type === "checkpoint") {
              this.#checkpoints.apply(message);
              resolve();
              return true;
            }
            if (message.type === "error") {
              reject(errorFromWire(message));
              return true;
            }
            return false;
          },
          onExit: reject,
        },
      );
    });
    return this.#checkpoints.snapshot();
  }

  /** The checkpoint as of the last completed cell (or restore), without a round trip. */
  lastCheckpoint(): SessionCheckpoint | undefined {
    return this.#checkpoints.empty ? undefined : this.#checkpoints.snapshot();
  }

  /** Loads a checkpoint into the namespace (merged key by key). */
  async restore(checkpoint: SessionCheckpoint): Promise<RestoreReport> {
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if (this.#state !== "READY" || worker === undefined) throw this.#stateError("restore");
    const report = await this.#checkpoints.restoreInto(worker, checkpoint);
    return report;
  }

  /** Clears the namespace: every user name is dropped, as in a fresh worker. */
  async reset(): Promise<void> {
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if (this.#state !== "READY" || worker === undefined) throw this.#stateError("reset");
    const id = `${this.id}:reset:${randomUUID()}`;
    await new Promise<void>((resolve, reject) => {
      worker.request(
        id,
        { type: "reset", id },
        {
          onMessage: (message) => {
            if (message.type !== "restored" && message.type !== "error") return false;
            if (message.type === "error") reject(errorFromWire(message));
            else resolve();
            return true;
          },
          onExit: reject,
        },
      );
    });
    this.#checkpoints.clear();
  }

  /** Gives a pooled session back to its pool (which resets it); closes a standalone one. */
  release(): void {
    if (this.#hooks.onRelease !== undefined) this.#hooks.onRelease(this);
    else void this.close();
  }

  /** Ends the worker and the session. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasTerminated = this.#state === "TERMINATED";
    this.#state = "TERMINATED";
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.shutdown();
    // A spawn still in flight sees TERMINATED and shuts its own worker down.
    await this.#starting?.catch(() => undefined);
    if (!wasTerminated) this.emit("terminated", undefined);
  }

  /** Starts a worker and, when given, restores a checkpoint into it. */
  async #spawn(restoreFrom: SessionCheckpoint | undefined): Promise<void> {
    let worker: WorkerProcess;
    try {
      worker = await WorkerProcess.start(this.options);
    } catch (error) {
      this.#terminate(
        error instanceof CapsuleError
          ? error
          : new CapsuleError("WORKER_START_FAILED", String(error)),
      );
      throw error;
    }
    if (this.#state === "TERMINATED") {
      await worker.shutdown();
      return;
    }
    this.#worker = worker;
    worker.onUnclaimed = (message) => this.#onUnclaimed(message);
    worker.onRawOutput = (stream, data) => this.emit("output", { stream, data });
    worker.onExit = (info) => this.#onWorkerExit(worker, info);
    if (restoreFrom !== undefined) await this.#checkpoints.restoreInto(worker, restoreFrom);
    if (this.#state === "STARTING") this.#state = "READY";
    if (restoreFrom !== undefined || this.#executions > 0) this.emit("respawn", worker.pid);
  }

  #onUnclaimed(message: WorkerMessage): void {
    if (message.type === "output")
      this.emit("output", { stream: message.stream, data: message.data });
    else if (message.type === "checkpoint") this.#checkpoints.apply(message);
  }

  /**
   * Replaces a worker that is alive but unfit to go on (out of file descriptors) with a
   * fresh one restored from the last checkpoint. Not counted as a crash.
   */
  #retire(worker: WorkerProcess): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#state = "STARTING";
    const checkpoint = this.#checkpoints.empty ? undefined : this.#checkpoints.snapshot();
    worker.kill("SIGKILL");
    this.#starting = worker.exited.then(() => this.#spawn(checkpoint));
    this.#starting.catch(() => undefined);
  }

  #onWorkerExit(worker: WorkerProcess, info: ExitInfo): void {
    if (this.#state !== "TERMINATED") this.emit("worker-exit", info);
    if (this.#worker !== worker || this.#state === "TERMINATED") return;
    this.#worker = undefined;
    const now = Date.now();
    this.#crashes = [...this.#crashes.filter((at) => now - at < this.options.respawnWindowMs), now];
    if (this.#crashes.length > this.options.maxRespawns) {
      this.#terminate(
        new CapsuleError(
          "RESPAWN_LIMIT",
          `session ${this.id}: worker crashed ${this.#crashes.length} times within ${this.options.respawnWindowMs} ms; giving up`,
        ),
      );
      return;
    }
    this.#state = "STARTING";
    const checkpoint = this.#checkpoints.empty ? undefined : this.#checkpoints.snapshot();
    this.#starting = this.#spawn(checkpoint);
    this.#starting.catch(() => undefined);
  }

  #terminate(error: CapsuleError): void {
    if (this.#state === "TERMINATED") return;
    this.#terminalError = error;
    this.#state = "TERMINATED";
    this.emit("terminated", error);
  }

  #run(
    worker: WorkerProcess,
    id: string,
    prepared: PreparedCell,
    options: ExecuteOptions,
  ): Promise<ExecutionResult> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const wantCheckpoint = this.options.checkpoint;
    return new Promise<ExecutionResult>((resolve, reject) => {
      let result: ExecutionResult | undefined;
      let forced: CapsuleError | undefined;
      let backstop: ReturnType<typeof setTimeout> | undefined;
      const interrupts: ReturnType<typeof setTimeout>[] = [];
      let cancelRequested = false;
      // A cell on the worker's event loop silences its heartbeats; its deadline guards it.
      const onEventLoop = prepared.mode !== "blocking_sync";
      if (onEventLoop) worker.watchLiveness(false);
      const settle = (outcome: { result: ExecutionResult } | { error: CapsuleError }) => {
        if (onEventLoop) worker.watchLiveness(true);
        clearTimeout(backstop);
        clearTimeout(deadline);
        for (const timer of interrupts) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        if ("result" in outcome) resolve(outcome.result);
        else reject(outcome.error);
      };
      // The worker enforces the limit itself; this only catches a worker that cannot
      // (a promise callback spinning forever), by ending the process.
      const killFor = (error: CapsuleError) => {
        forced = error;
        worker.kill("SIGKILL");
      };
      const deadline = setTimeout(
        () =>
          killFor(
            new TimeoutError(`execution timed out after ${timeoutMs} ms; the worker was restarted`),
          ),
        timeoutMs + BACKSTOP_GRACE_MS,
      );
      const onAbort = () => {
        worker.send({ type: "cancel", execution_id: id });
        // A busy loop never reads the pipe: SIGINT interrupts the running script.
        cancelRequested = true;
        // Node's `breakOnSigint` misses a few percent of signals (and one landing as the
        // script ends can end the process, which then restarts like the backstop below),
        // so the interrupt is repeated a few times before the backstop.
        if (onEventLoop) {
          worker.kill("SIGINT");
          for (const delay of SIGINT_RETRIES_MS) {
            interrupts.push(setTimeout(() => worker.kill("SIGINT"), delay));
          }
        }
        backstop ??= setTimeout(
          () =>
            killFor(
              new CancelledError("execution cancelled; the worker did not stop and was restarted"),
            ),
          BACKSTOP_GRACE_MS,
        );
      };
      if (options.signal?.aborted) {
        settle({ error: new CancelledError() });
        return;
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });

      worker.request(
        id,
        {
          type: "execute",
          id,
          code: prepared.source,
          mode: prepared.mode,
          async: prepared.async,
          declared: prepared.declared,
          free: prepared.free,
          assigned: prepared.assigned,
          imports: prepared.imports,
          timeout_ms: timeoutMs,
          checkpoint: wantCheckpoint,
        },
        {
          onMessage: (message) => {
            switch (message.type) {
              case "output":
                options.onOutput?.({
                  stream: message.stream,
                  data: message.data,
                  ...(message.truncated ? { truncated: true } : {}),
                });
                return false;
              case "input":
                void this.#answerInput(worker, message.id, message.prompt, options);
                return false;
              case "result":
                result = {
                  value: message.has_value ? message.value : undefined,
                  hasValue: message.has_value,
                  display: message.display,
                  mode: message.mode,
                  executionTime: message.execution_time,
                };
                if (wantCheckpoint) return false;
                settle({ result });
                return true;
              case "checkpoint":
                this.#checkpoints.apply(message);
                if (result !== undefined) settle({ result });
                return true;
              case "error":
                // A checkpoint that failed after a good result does not fail the cell.
                if (result !== undefined) {
                  this.emit("output", {
                    stream: "stderr",
                    data: `[capsule: checkpoint failed: ${message.message}]\n`,
                  });
                  settle({ result });
                } else {
                  const error = errorFromWire(message);
                  settle({ error });
                  if (error.code === "LIMIT_RESOURCE") this.#retire(worker);
                }
                return true;
              default:
                return false;
            }
          },
          onExit: (error) =>
            settle({
              error:
                forced ??
                (cancelRequested
                  ? new CancelledError(
                      "execution cancelled; the worker was restarted from its last checkpoint",
                      {
                        cause: error,
                      },
                    )
                  : error),
            }),
        },
      );
    });
  }

  async #answerInput(
    worker: WorkerProcess,
    inputId: string,
    prompt: string,
    options: ExecuteOptions,
  ) {
    if (options.onInput === undefined) {
      worker.send({
        type: "input_response",
        input_id: inputId,
        value: "no input handler: pass onInput to execute()",
        cancelled: true,
      });
      return;
    }
    try {
      const value = await options.onInput(prompt);
      worker.send({ type: "input_response", input_id: inputId, value: String(value) });
    } catch (error) {
      worker.send({
        type: "input_response",
        input_id: inputId,
        value: `input failed: ${String(error)}`,
        cancelled: true,
      });
    }
  }

  #stateError(operation: string): SessionStateError {
    const reason = this.#terminalError === undefined ? "" : ` (${this.#terminalError.message})`;
    return new SessionStateError(
      "SESSION_INVALID_STATE",
      `cannot ${operation} session ${this.id} in state ${this.#state}${reason}`,
      this.#terminalError === undefined ? {} : { cause: this.#terminalError },
    );
  }
}
