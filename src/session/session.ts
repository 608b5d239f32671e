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
import { CapsuleError, SessionStateError } from "../errors.ts";
import { DEFAULT_PROTECTED_NAMES } from "../prepare/default-protected-names.ts";
import type { Introspect, Introspection, WorkerMessage } from "../protocol/messages.ts";
import { type Capabilities, checkCapabilities } from "./capabilities.ts";
import { loadCellPreparation } from "./cell-preparation.ts";
import { CheckpointChain, type RestoreReport, type SessionCheckpoint } from "./checkpoint-chain.ts";
import type { ExitInfo } from "./crash.ts";
import { displayChunk } from "./display.ts";
import { type CellSettings, runCell } from "./execution.ts";
import { allowListFetch } from "./net-allow.ts";
import {
  type ExecuteOptions,
  type ExecutionResult,
  type OutputChunk,
  type ResolvedSessionOptions,
  resolveSessionOptions,
  type SessionOptions,
} from "./options.ts";
import { DEFAULT_WARM_UP_CELLS, startWarmUp, type WarmUp } from "./warm-up.ts";
import { WorkerProcess } from "./worker-process.ts";

/** What `introspect` asks: completion after a property path, or what a path holds. */
export type IntrospectRequest = Pick<Introspect, "kind" | "path" | "prefix">;
export type IntrospectAnswer = Pick<Introspection, "matches" | "found" | "text">;

export type SessionState = "CREATED" | "STARTING" | "READY" | "BUSY" | "TERMINATED";

/** Set by a `SessionPool` on the sessions it owns. */
export interface SessionHooks {
  onRelease?: (session: Session) => void;
}

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
  /** The warm-up running in idle time, if one is (see `warmUp`). */
  #warmUp: WarmUp | undefined;
  #terminalError: CapsuleError | undefined;
  readonly #checkpoints = new CheckpointChain();
  /**
   * Every capability name granted to a cell of this session: the worker keeps each
   * defined for good, so each stays a protected name in later cells too.
   */
  readonly #grantedNames = new Set<string>();
  /** The session's capabilities, with the allow-list `fetch` when `permissions.net` is one. */
  readonly #baseCapabilities: Capabilities;

  readonly #hooks: SessionHooks;

  constructor(options: SessionOptions = {}, id: string = randomUUID(), hooks: SessionHooks = {}) {
    super();
    this.id = id;
    this.options = resolveSessionOptions(options);
    checkCapabilities(this.options.capabilities);
    // Network by allow-list: `fetch` is the host's, unless the session grants its own.
    this.#baseCapabilities =
      this.options.netAllow === undefined
        ? this.options.capabilities
        : { fetch: allowListFetch(this.options.netAllow), ...this.options.capabilities };
    this.#hooks = hooks;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** What cells of this session may call on the host (before any per-execute override). */
  get capabilities(): Capabilities {
    return this.#baseCapabilities;
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
    checkCapabilities(options.capabilities);
    const capabilities = { ...this.#baseCapabilities, ...options.capabilities };
    const loading = loadCellPreparation(code);
    // Not awaited if the worker fails first: the cell's error is that failure.
    loading.catch(() => undefined);
    let worker = await this.#readyWorker("execute");
    // BUSY while the cell is prepared too: a second execute meanwhile is refused as during
    // the run, and cannot overtake this one.
    this.#state = "BUSY";
    try {
      const { prepareCellOffLoop } = await loading;
      const prepared = await prepareCellOffLoop(code, {
        ...(options.mode === undefined ? {} : { mode: options.mode }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        maxBytes: this.options.cellBytes,
        timeoutMs: options.timeoutMs ?? this.options.timeoutMs,
        protectedNames: [
          ...DEFAULT_PROTECTED_NAMES,
          ...this.#grantedNames,
          ...Object.keys(capabilities),
        ],
      });
      for (const name of Object.keys(capabilities)) this.#grantedNames.add(name);
      // The worker may have died while a large cell was prepared: use its replacement.
      if (this.#state !== "BUSY") {
        worker = await this.#readyWorker("execute");
        this.#state = "BUSY";
      }
      this.#executions++;
      return await runCell(
        worker,
        `${this.id}:${this.#executions}`,
        prepared,
        options,
        this.#cellSettings(worker, capabilities),
      );
    } finally {
      if (this.#state === "BUSY") this.#state = "READY";
    }
  }

  /**
   * Runs up to `cells` throwaway cells through the whole path a cell takes, so that this
   * session's first cells run at warm speed (see warm-up.ts). For idle time: any use of
   * the session (execute, restore, reset, checkpoint) stops it after the cell in flight.
   * The cells leave no trace in the namespace, the cell numbers or the checkpoints. Does
   * nothing once a cell has run, or when not READY. Resolves with the number of cells
   * run; rejects if one failed (the worker died or could not run it).
   */
  async warmUp(cells = DEFAULT_WARM_UP_CELLS): Promise<number> {
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if (this.#state !== "READY" || worker === undefined) return 0;
    if (this.#executions > 0 || this.#warmUp !== undefined) return 0;
    const warmUp = startWarmUp(
      worker,
      this.id,
      cells,
      this.#cellSettings(worker, {}),
      () => this.#state !== "READY" || this.#worker !== worker,
    );
    this.#warmUp = warmUp;
    try {
      return await warmUp.done;
    } catch (error) {
      // Closed while warming up: the warm-up only ended early.
      if (this.#closing !== undefined) return warmUp.ran;
      throw error;
    } finally {
      if (this.#warmUp === warmUp) this.#warmUp = undefined;
    }
  }

  /** What a cell run on `worker` needs from this session. */
  #cellSettings(worker: WorkerProcess, capabilities: Capabilities): CellSettings {
    return {
      timeoutMs: this.options.timeoutMs,
      stopGraceMs: this.options.stopGraceMs,
      checkpoint: this.options.checkpoint,
      capabilities,
      onCheckpoint: (message) => this.#checkpoints.apply(message),
      onStrayOutput: (chunk) => this.emit("output", chunk),
      onUnfitWorker: () => this.#retire(worker),
    };
  }

  /** A full checkpoint of the namespace, taken now. */
  async checkpoint(): Promise<SessionCheckpoint> {
    const worker = await this.#readyWorker("checkpoint");
    const id = `${this.id}:checkpoint:${randomUUID()}`;
    const message = await worker.call(id, { type: "checkpoint_request", id }, (reply) =>
      reply.type === "checkpoint" ? reply : undefined,
    );
    this.#checkpoints.apply(message);
    return this.#checkpoints.snapshot();
  }

  /** The checkpoint as of the last completed cell (or restore), without a round trip. */
  lastCheckpoint(): SessionCheckpoint | undefined {
    return this.#checkpoints.empty ? undefined : this.#checkpoints.snapshot();
  }

  /** Loads a checkpoint into the namespace (merged key by key). */
  async restore(checkpoint: SessionCheckpoint): Promise<RestoreReport> {
    const worker = await this.#readyWorker("restore");
    return this.#checkpoints.restoreInto(worker, checkpoint);
  }

  /** Clears the namespace: every user name is dropped, as in a fresh worker. */
  async reset(): Promise<void> {
    const worker = await this.#readyWorker("reset");
    const id = `${this.id}:reset:${randomUUID()}`;
    await worker.call(id, { type: "reset", id }, (reply) =>
      reply.type === "restored" ? true : undefined,
    );
    this.#checkpoints.clear();
  }

  /**
   * Completion or inspection on the live namespace (see IntrospectSchema): not a cell, so
   * allowed while one runs, and answered between its awaits. A cell that holds the
   * worker's thread (a blocking loop) delays the answer to its end; after `timeoutMs`
   * this rejects with INTROSPECT_TIMEOUT (the late answer is then dropped).
   */
  async introspect(request: IntrospectRequest, timeoutMs = 2_000): Promise<IntrospectAnswer> {
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if ((this.#state !== "READY" && this.#state !== "BUSY") || worker === undefined)
      throw this.#stateError("introspect");
    const id = `${this.id}:introspect:${randomUUID()}`;
    const answer = worker.call(id, { type: "introspect", id, ...request }, (reply) =>
      reply.type === "introspection" ? reply : undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new CapsuleError(
              "INTROSPECT_TIMEOUT",
              `session ${this.id}: no answer to ${request.kind} within ${timeoutMs} ms (a cell holds the worker)`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      const reply = await Promise.race([answer, late]);
      return { matches: reply.matches, found: reply.found, text: reply.text };
    } finally {
      clearTimeout(timer);
      answer.catch(() => undefined);
    }
  }

  /** The worker, once the session is READY (waiting out a respawn); else a state error. */
  async #readyWorker(operation: string): Promise<WorkerProcess> {
    // A warm-up is for idle time: it gives way once the cell in flight has ended.
    if (this.#warmUp !== undefined) await this.#warmUp.stop();
    if (this.#state === "STARTING") await this.#starting;
    const worker = this.#worker;
    if (this.#state !== "READY" || worker === undefined) throw this.#stateError(operation);
    return worker;
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
    // While the host waits for a first cell (or restores into this worker for one).
    loadCellPreparation().catch(() => undefined);
  }

  #onUnclaimed(message: WorkerMessage): void {
    if (message.type === "output")
      this.emit("output", { stream: message.stream, data: message.data });
    else if (message.type === "display") this.emit("output", displayChunk(message));
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

  #stateError(operation: string): SessionStateError {
    const reason = this.#terminalError === undefined ? "" : ` (${this.#terminalError.message})`;
    return new SessionStateError(
      "SESSION_INVALID_STATE",
      `cannot ${operation} session ${this.id} in state ${this.#state}${reason}`,
      this.#terminalError === undefined ? {} : { cause: this.#terminalError },
    );
  }
}
