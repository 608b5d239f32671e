/**
 * A small pool of host-side worker threads that prepare (parse, analyse, rewrite) cells
 * off the host's event loop, so a large or pathological cell costs its own session a
 * parse, never the host's responsiveness or other sessions' cells.
 *
 * Threads start lazily on the first job, are unref'd while idle (they never keep a
 * process alive by themselves) and stop after `idleMs` without work. A job that runs past
 * its time limit, is cancelled, or exhausts its thread's heap fails alone with a coded
 * error; its thread is terminated and the next job gets a fresh one.
 */
import { Worker } from "node:worker_threads";
import {
  CancelledError,
  CapsuleError,
  MemoryLimitError,
  TimeoutError,
  WorkerCrashedError,
} from "../errors.ts";
import type { PreparedCell, PrepareOptions } from "./index.ts";
import { type ParseReply, type ParseRequest, preparationError } from "./parse-thread-protocol.ts";

const ENTRY = new URL("./parse-thread-main.ts", import.meta.url);

export interface ParseThreadPoolOptions {
  /** Threads at most. Default 2: a parse is one core's work, and sessions share the host. */
  size?: number;
  /**
   * V8 old-space limit of each thread, in MiB. Default 1024: preparing a 1 MiB cell of
   * statements peaks at a few hundred MiB.
   */
  heapMb?: number;
  /** An idle thread stops after this long, in ms (its memory goes back). Default 30 000. */
  idleMs?: number;
}

export interface ParseJobOptions {
  /** The job fails with `LIMIT_TIMEOUT` after this long (queueing included), in ms. */
  timeoutMs: number;
  /** Cancels the job (`EXECUTION_CANCELLED`); a running parse is stopped with its thread. */
  signal?: AbortSignal;
}

interface Job {
  readonly request: ParseRequest;
  /** A warm-up (see `warm()`): nobody waits for its answer. */
  readonly warmUp?: true;
  readonly resolve: (prepared: PreparedCell) => void;
  readonly reject: (error: unknown) => void;
  readonly cleanup: () => void;
  thread?: Thread;
}

interface Thread {
  readonly worker: Worker;
  job: Job | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

export class ParseThreadPool {
  readonly #size: number;
  readonly #heapMb: number;
  readonly #idleMs: number;
  readonly #threads = new Set<Thread>();
  readonly #queue: Job[] = [];
  readonly #exiting = new Set<Promise<number>>();
  #nextId = 0;
  #closed = false;

  constructor(options: ParseThreadPoolOptions = {}) {
    this.#size = options.size ?? 2;
    this.#heapMb = options.heapMb ?? 1024;
    this.#idleMs = options.idleMs ?? 30_000;
  }

  /** Threads running now (busy or idle). */
  get threads(): number {
    return this.#threads.size;
  }

  /**
   * Prepares `code` on a parse thread.
   * @throws what `prepareCell` throws (an `ExecutionError`), or `TimeoutError`,
   *   `MemoryLimitError`, `CancelledError`, `WorkerCrashedError` (the thread died).
   */
  prepare(code: string, options: PrepareOptions, job: ParseJobOptions): Promise<PreparedCell> {
    if (this.#closed) {
      return Promise.reject(new CapsuleError("POOL_CLOSED", "the parse thread pool is closed"));
    }
    if (job.signal?.aborted) return Promise.reject(new CancelledError());
    return new Promise<PreparedCell>((resolve, reject) => {
      const request: ParseRequest = { id: ++this.#nextId, code, options };
      const timer = setTimeout(() => {
        this.#fail(entry, new TimeoutError(`preparing the cell took over ${job.timeoutMs} ms`));
      }, job.timeoutMs);
      const onAbort = () => this.#fail(entry, new CancelledError());
      job.signal?.addEventListener("abort", onAbort, { once: true });
      const entry: Job = {
        request,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          job.signal?.removeEventListener("abort", onAbort);
        },
      };
      this.#queue.push(entry);
      this.#dispatch();
    });
  }

  /**
   * Starts a thread now, when none runs, and has it load the parser and Node's type
   * stripper (~70 ms before a first job could start), for a host with time to spare
   * before a cell arrives (it waits for a worker). A job that comes meanwhile waits for
   * that thread instead of starting a second cold one.
   */
  warm(): void {
    if (this.#closed || this.#threads.size > 0 || this.#queue.length > 0) return;
    const noop = () => {};
    this.#queue.push({
      request: { id: ++this.#nextId, code: "0", options: {} },
      warmUp: true,
      resolve: noop,
      reject: noop,
      cleanup: noop,
    });
    this.#dispatch();
  }

  /** Stops every thread; queued and running jobs fail with `POOL_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    const closed = new CapsuleError("POOL_CLOSED", "the parse thread pool was closed");
    for (const job of [...this.#queue]) this.#fail(job, closed);
    for (const thread of [...this.#threads]) {
      if (thread.job) this.#fail(thread.job, closed);
      else this.#stop(thread);
    }
    await Promise.all([...this.#exiting]);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      // A thread still warming up is nearer than a new one (its start is what costs).
      const warming = [...this.#threads].some((thread) => thread.job?.warmUp === true);
      const thread = this.#idleThread() ?? (warming ? undefined : this.#startThread());
      if (thread === undefined) return;
      const job = this.#queue.shift();
      if (job === undefined) return;
      clearTimeout(thread.idleTimer);
      thread.job = job;
      job.thread = thread;
      // A running job keeps the process alive, as any pending I/O would.
      thread.worker.ref();
      thread.worker.postMessage(job.request);
    }
  }

  #idleThread(): Thread | undefined {
    for (const thread of this.#threads) if (thread.job === undefined) return thread;
    return undefined;
  }

  #startThread(): Thread | undefined {
    if (this.#threads.size >= this.#size) return undefined;
    const worker = new Worker(ENTRY, {
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb, maxYoungGenerationSizeMb: 48 },
      // Preparation prints nothing; a thread must not inherit the host's flags (e.g.
      // --inspect) that would make it behave differently.
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    const thread: Thread = { worker, job: undefined, idleTimer: undefined };
    worker.on("message", (reply: ParseReply) => this.#onReply(thread, reply));
    worker.on("error", (error: unknown) => {
      this.#onThreadDied(thread, error instanceof Error ? error : new Error(String(error)));
    });
    worker.on("exit", (exitCode) => {
      this.#onThreadDied(
        thread,
        new WorkerCrashedError(`the parse thread exited with code ${exitCode}`, { exitCode }),
      );
    });
    this.#threads.add(thread);
    return thread;
  }

  #onReply(thread: Thread, reply: ParseReply): void {
    const job = thread.job;
    if (job === undefined || reply.id !== job.request.id) {
      // A reply to a job that already timed out cannot arrive (its thread is stopped), so
      // this is a bug in the pool: fail loudly rather than answer the wrong cell.
      this.#onThreadDied(thread, new Error(`parse thread replied to unknown job ${reply.id}`));
      return;
    }
    thread.job = undefined;
    job.cleanup();
    if (reply.ok) job.resolve(reply.prepared);
    else if ("error" in reply) job.reject(preparationError(reply.error));
    else job.reject(Object.assign(new Error(reply.failure.message), reply.failure));
    thread.worker.unref();
    thread.idleTimer = setTimeout(() => this.#stop(thread), this.#idleMs).unref();
    this.#dispatch();
  }

  #onThreadDied(thread: Thread, error: Error): void {
    if (!this.#threads.has(thread)) return;
    const job = thread.job;
    thread.job = undefined;
    this.#stop(thread);
    if (job !== undefined) {
      const outOfMemory = (error as { code?: unknown }).code === "ERR_WORKER_OUT_OF_MEMORY";
      this.#settleRejected(
        job,
        outOfMemory
          ? new MemoryLimitError(
              `preparing the cell ran out of memory (parse thread heap limit ${this.#heapMb} MiB)`,
              { cause: error },
            )
          : new WorkerCrashedError(`the parse thread died: ${error.message}`, {}, { cause: error }),
      );
    }
    this.#dispatch();
  }

  /** Fails a job wherever it is: queued (removed) or running (its thread is stopped). */
  #fail(job: Job, error: unknown): void {
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) this.#queue.splice(queued, 1);
    const thread = job.thread;
    if (thread !== undefined && thread.job === job) {
      thread.job = undefined;
      this.#stop(thread);
    } else if (queued === -1) {
      return; // already settled
    }
    this.#settleRejected(job, error);
    this.#dispatch();
  }

  #settleRejected(job: Job, error: unknown): void {
    job.cleanup();
    job.reject(error);
  }

  #stop(thread: Thread): void {
    if (!this.#threads.delete(thread)) return;
    clearTimeout(thread.idleTimer);
    thread.worker.removeAllListeners("message");
    const exited = thread.worker.terminate();
    this.#exiting.add(exited);
    const forget = () => this.#exiting.delete(exited);
    // A failed terminate still surfaces: `close()` awaits the original promise.
    exited.then(forget, forget);
  }
}
