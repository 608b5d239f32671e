/**
 * The sessions a worker keeps live between cells, keyed by (execution, session name),
 * each knowing the step its namespace is at. A cell whose previous step is where the
 * live session is runs there without a restore (affinity); any other cell restores a
 * session from the store first (mobility). Bounded: at most `maxLive` sessions stay
 * live (the least recently used idle one goes back to the pool), and one unused for
 * `idleMs` is released, since a worker never learns that an execution ended.
 */
import type { Session, SessionCheckpoint, SessionPool } from "../../src/session/index.ts";
import { SessionSlot } from "../session-slot.ts";
import type { SessionStart } from "./cell-request.ts";

export interface LiveSessionsOptions {
  maxLive: number;
  idleMs: number;
}

interface Entry {
  slot: SessionSlot;
  /** Cells queued or running on this slot. */
  busy: number;
  idleTimer: NodeJS.Timeout | undefined;
}

export class LiveSessions {
  readonly #pool: SessionPool;
  readonly #options: LiveSessionsOptions;
  /** In least-recently-used order (a Map keeps insertion order; a use re-inserts). */
  readonly #entries = new Map<string, Entry>();

  constructor(pool: SessionPool, options: LiveSessionsOptions) {
    this.#pool = pool;
    this.#options = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `work` on the session `key` at step `prev` (restored from `load` unless the
   * live one is there); the session is then at step `reached`.
   */
  async run<T>(
    key: string,
    prev: string,
    reached: string,
    load: () => Promise<SessionCheckpoint | undefined>,
    work: (session: Session, start: SessionStart) => Promise<T>,
  ): Promise<T> {
    const entry = this.#enter(key);
    let start: SessionStart = "live";
    const loadCheckpoint = async () => {
      const checkpoint = await load();
      start = checkpoint === undefined ? "fresh" : "restored";
      return checkpoint;
    };
    try {
      return await entry.slot.run(prev, loadCheckpoint, async (session) => ({
        value: await work(session, start),
        at: reached,
      }));
    } finally {
      entry.busy--;
      if (entry.busy === 0) this.#idle(key, entry);
    }
  }

  /** Gives every session back to the pool (the worker stops). */
  releaseAll(): void {
    for (const [key, entry] of this.#entries) this.#drop(key, entry);
  }

  #enter(key: string): Entry {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { slot: new SessionSlot(this.#pool), busy: 0, idleTimer: undefined };
    } else {
      this.#entries.delete(key);
    }
    this.#entries.set(key, entry);
    clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.busy++;
    this.#evict();
    return entry;
  }

  #idle(key: string, entry: Entry): void {
    const timer = setTimeout(() => this.#drop(key, entry), this.#options.idleMs);
    timer.unref();
    entry.idleTimer = timer;
  }

  /** Over the bound: the least recently used idle sessions go back to the pool. */
  #evict(): void {
    let over = this.#entries.size - this.#options.maxLive;
    for (const [key, entry] of this.#entries) {
      if (over <= 0) return;
      if (entry.busy === 0) {
        this.#drop(key, entry);
        over--;
      }
    }
  }

  #drop(key: string, entry: Entry): void {
    clearTimeout(entry.idleTimer);
    if (this.#entries.get(key) === entry) this.#entries.delete(key);
    entry.slot.releaseWhenIdle();
  }
}
