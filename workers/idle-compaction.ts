/**
 * Gives an idle session's memory back. V8 grows the young generation while a thread
 * starts and runs its first cells (3.75 MiB of semi-spaces in an idle worker's main
 * thread, 0.5 MiB of it used) and never shrinks it again on its own: an ordinary full GC
 * keeps it, and so does waiting (the memory reducer does not run in a worker that keeps
 * timers). A memory-reducing GC shrinks it and compacts the old generation: ~3–5 MiB of
 * an idle worker's private memory, for ~20 ms of the thread (~10 ms of the service
 * thread) once the session has been idle for `idleMs`.
 *
 * The GC is the inspector's `HeapProfiler.collectGarbage` on a session of the thread's
 * own, opened for it and closed after: it needs no V8 flag (`--expose-gc` would hand a
 * `gc` function to every context created while it is set) and no realm a cell can reach.
 * Each thread compacts its own isolate: one instance per thread. `node:inspector` is
 * loaded when first needed, not with this module: both threads import it while they
 * start, and most sessions never idle that long.
 */

/**
 * Quiet time after the last host message before a session compacts, in ms. Long enough
 * that a session in use (an agent thinking between cells) never pays for it, and that
 * sessions started together do not compact while the others still start (each
 * compaction is ~30 ms of CPU: 100 sessions compacting 1 s after READY made starting 100
 * at once ~2.5 s slower on 2 cores); a parked session gives its memory back soon enough.
 */
export const IDLE_COMPACT_MS = 10_000;
/** Heaps using more than this are not compacted when idle: the pause would be long. */
export const IDLE_COMPACT_MAX_HEAP_BYTES = 64 * 1024 * 1024;

export interface IdleCompactionOptions {
  /** Quiet time after the last host message before compacting, in ms. */
  idleMs?: number;
  /** A heap with more in use than this is left alone. */
  maxUsedHeapBytes?: number;
  /** Whether the session is idle (no cell running) right now. */
  idle: () => boolean;
  /**
   * Runs Capsule's own work on this thread (the main thread's `ServiceLink.runtime`, so
   * that the service thread never takes the pause for a stray callback of a cell).
   */
  enter?: (work: () => void) => void;
}

export class IdleCompaction {
  readonly #options: IdleCompactionOptions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: IdleCompactionOptions) {
    this.#options = options;
  }

  /** The session got work: compact once it has been quiet for `idleMs` again. */
  activity(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    // Unref'd: a pending compaction never keeps the thread alive.
    const idleMs = this.#options.idleMs ?? IDLE_COMPACT_MS;
    this.#timer = setTimeout(() => this.#compact(), idleMs).unref();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #compact(): void {
    this.#timer = undefined;
    // A cell that outlasted the quiet time: look again once more time has passed.
    if (!this.#options.idle()) {
      this.activity();
      return;
    }
    const limit = this.#options.maxUsedHeapBytes ?? IDLE_COMPACT_MAX_HEAP_BYTES;
    if (process.memoryUsage().heapUsed > limit) return;
    const enter = this.#options.enter ?? ((work: () => void) => work());
    enter(() => {
      const { Session } = process.getBuiltinModule("node:inspector");
      const session = new Session();
      session.connect();
      // Closed on the turn after its answer: closed inside its own callback, the session
      // stays open and keeps the thread alive.
      session.post("HeapProfiler.collectGarbage", () => {
        setImmediate(() => session.disconnect());
      });
    });
  }
}
