/**
 * A SessionPool keeps pre-warmed sessions so `acquire()` does not wait for a process to
 * start. It bounds the total number of sessions (acquirers wait, bounded, when all are
 * leased) and replaces sessions that died for good. A worker never serves two owners: a
 * released session is retired (its process ends) and the pool starts a never-used one
 * in its place, because resetting a namespace cannot undo what the previous user did to
 * the process (patched built-ins, timers, listeners, files). `close()` leaves no process
 * behind, and a new pool removes the working directories dead hosts left behind.
 *
 * `reserve()` lets a caller that will probably need a session soon (a durable execution
 * replaying recorded cells until it reaches one that must run) have a worker started
 * now, so its start overlaps the caller's own work; the claim is given back unused when
 * the session was not needed after all.
 */
import { SessionStateError } from "../errors.ts";
import { checkCapabilities } from "./capabilities.ts";
import type { SessionCheckpoint } from "./checkpoint-chain.ts";
import type { SessionOptions } from "./options.ts";
import { WaiterQueue } from "./pool-waiters.ts";
import { Session } from "./session.ts";
import { DEFAULT_WARM_UP_CELLS } from "./warm-up.ts";
import { removeOrphanedWorkdirs } from "./workdirs.ts";

export interface PoolOptions extends SessionOptions {
  /** Sessions kept started and idle, ready for `acquire()`. Default 1. */
  minIdle?: number;
  /** Most sessions alive at once, leased or idle. Default 16. */
  maxSessions?: number;
  /** How long `acquire()` waits for a session when all are leased, in ms. Default 30 000. */
  acquireTimeoutMs?: number;
  /**
   * Throwaway cells an idle session runs while it waits, so that its first cells run as
   * fast as a warm worker's (see `Session.warmUp`). Default 60; 0 turns it off.
   */
  warmUpCells?: number;
}

export interface AcquireOptions {
  /** Load this checkpoint into the session before returning it. */
  restore?: SessionCheckpoint;
  signal?: AbortSignal;
}

/**
 * A claim on one session the pool starts at once (on top of `minIdle`). `acquire()`
 * leases it (waiting for its start, never starting a second one); `cancel()` gives the
 * claim back, and the pool retires the worker if no one else wants it. Either ends the
 * claim; a later `acquire()` is an ordinary `pool.acquire()`.
 */
export interface Reservation {
  acquire(options?: AcquireOptions): Promise<Session>;
  cancel(): void;
}

/** Failed warm starts retried in a row before the pool waits for the next release or acquire. */
const MAX_WARM_START_RETRIES = 3;

export class SessionPool {
  readonly #options: PoolOptions;
  readonly #minIdle: number;
  readonly #warmUpCells: number;
  readonly #maxSessions: number;
  readonly #idle: Session[] = [];
  readonly #leased = new Set<Session>();
  /** Sessions being started or retired (their process still runs), counted against `maxSessions`. */
  #pending = 0;
  /** Warm starts in flight (sessions that will be idle or go to a waiter). */
  #warming = 0;
  /** Open reservations: each keeps one more session idle than `minIdle`. */
  #reserved = 0;
  /** Starts in flight, so `close()` can wait for them. */
  readonly #starts = new Set<Promise<unknown>>();
  /** Retirements in flight: `close()` waits for those processes too (and their directories). */
  readonly #retiring = new Set<Promise<void>>();
  readonly #waiters = new WaiterQueue();
  /** Warm starts that failed in a row (see #fill). */
  #failedWarmStarts = 0;
  /** Warm-ups of idle sessions in flight (see `#warmUp`). */
  readonly #warmUps = new Set<Promise<void>>();
  /** `whenWarm` callers, woken whenever a start or a warm-up of an idle session ends. */
  #warmWaiters: Array<() => void> = [];
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: PoolOptions = {}) {
    checkCapabilities(options.capabilities);
    this.#options = options;
    this.#minIdle = options.minIdle ?? 1;
    this.#warmUpCells = Math.max(0, options.warmUpCells ?? DEFAULT_WARM_UP_CELLS);
    this.#maxSessions = Math.max(1, options.maxSessions ?? 16);
    removeOrphanedWorkdirs();
    this.#fill();
  }

  /** Sessions alive or starting, leased or idle. */
  get size(): number {
    return this.#idle.length + this.#leased.size + this.#pending;
  }

  get idle(): number {
    return this.#idle.length;
  }

  get leased(): number {
    return this.#leased.size;
  }

  /**
   * Leases a session that no one used before; call `session.release()` when done with it
   * (the session is then closed, not handed to anyone else).
   */
  async acquire(options: AcquireOptions = {}): Promise<Session> {
    if (this.#closed) throw new SessionStateError("POOL_CLOSED", "the pool is closed");
    const session = await this.#take(options.signal);
    if (options.restore !== undefined) {
      try {
        await session.restore(options.restore);
      } catch (error) {
        session.release();
        throw error;
      }
    }
    return session;
  }

  /**
   * Starts a session now for a caller that will probably lease it soon (see
   * `Reservation`); with `minIdle` sessions already idle it starts one more.
   */
  reserve(): Reservation {
    let open = !this.#closed;
    if (open) {
      this.#reserved++;
      this.#fill();
    }
    const end = (): boolean => {
      if (!open) return false;
      open = false;
      this.#reserved--;
      return true;
    };
    return {
      acquire: (options) => {
        end();
        return this.acquire(options);
      },
      cancel: () => {
        if (end()) this.#trim();
      },
    };
  }

  /**
   * Resolves once no idle session is starting or warming up, so the pool is as ready as
   * it gets: a server can wait for it before it takes traffic. A failed start counts as
   * ended (the next acquire starts one).
   */
  async whenWarm(): Promise<void> {
    while (!this.#closed && (this.#warming > 0 || this.#warmUps.size > 0)) {
      await new Promise<void>((resolve) => this.#warmWaiters.push(resolve));
    }
  }

  #wakeWarmWaiters(): void {
    for (const wake of this.#warmWaiters.splice(0)) wake();
  }

  /** Closes every session (idle and leased) and rejects waiting acquirers. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#wakeWarmWaiters();
    this.#waiters.rejectAll(
      new SessionStateError("POOL_CLOSED", "the pool was closed while waiting for a session"),
    );
    const sessions = [...this.#idle.splice(0), ...this.#leased];
    this.#leased.clear();
    await Promise.all(sessions.map((session) => session.close()));
    // Sessions still starting close themselves when they come up (see #create), and that
    // close is a retirement begun after this look: look again until nothing is in flight.
    while (this.#starts.size > 0 || this.#retiring.size > 0) {
      await Promise.allSettled([...this.#starts, ...this.#retiring]);
    }
  }

  #take(signal: AbortSignal | undefined): Promise<Session> {
    const idle = this.#idle.shift();
    if (idle !== undefined) {
      this.#lease(idle);
      this.#fill();
      return Promise.resolve(idle);
    }
    // A warm start in flight that no waiter claimed yet is nearer than a new start.
    if (this.#warming > this.#waiters.length) return this.#wait(signal);
    if (this.size < this.#maxSessions) {
      return this.#create().then((session) => {
        this.#lease(session);
        return session;
      });
    }
    return this.#wait(signal);
  }

  #wait(signal: AbortSignal | undefined): Promise<Session> {
    return this.#waiters.wait(this.#options.acquireTimeoutMs ?? 30_000, this.#maxSessions, signal);
  }

  #lease(session: Session): void {
    this.#leased.add(session);
  }

  async #create(): Promise<Session> {
    this.#pending++;
    // Pooled workers wait idle to be leased, often by a durable execution that checkpoints
    // at once: let them load the codec while they wait (see SessionOptions.warmCheckpoints).
    const session = new Session({ warmCheckpoints: true, ...this.#options }, undefined, {
      onRelease: (released) => void this.#release(released),
    });
    session.once("terminated", () => this.#forget(session));
    const started = session.start();
    this.#starts.add(started);
    try {
      await started;
    } finally {
      this.#starts.delete(started);
      this.#pending--;
    }
    if (this.#closed) {
      await this.#retire(session);
      throw new SessionStateError("POOL_CLOSED", "the pool was closed while a session started");
    }
    return session;
  }

  /** Sessions to keep idle: `minIdle` plus one per open reservation. */
  get #wantedIdle(): number {
    return this.#minIdle + this.#reserved;
  }

  /** Starts sessions in the background until `minIdle` (+ reservations) are idle (within `maxSessions`). */
  #fill(): void {
    if (this.#closed) return;
    const wanted = this.#wantedIdle - this.#idle.length - this.#warming;
    for (let i = 0; i < wanted && this.size < this.#maxSessions; i++) {
      this.#warming++;
      this.#create().then(
        (session) => {
          this.#warming--;
          this.#failedWarmStarts = 0;
          this.#offer(session);
          // Taken by a waiter: the idle set may need topping up; beyond it, a reservation
          // cancelled while its start was in flight leaves a surplus to retire.
          this.#fill();
          this.#trim();
          this.#wakeWarmWaiters();
        },
        () => {
          this.#warming--;
          // Every release retires a worker, so warm starts are what keeps acquire fast:
          // retry a failed one at once, a few times in a row (a circuit breaker, not a
          // loop); after that the next release or acquire tries again.
          if (++this.#failedWarmStarts <= MAX_WARM_START_RETRIES) this.#fill();
          // An acquirer that waited for this start gets one of its own (or the error).
          if (this.#waiters.length > this.#warming) this.#serveWaiter();
          this.#wakeWarmWaiters();
        },
      );
    }
  }

  /** Retires idle sessions beyond what `minIdle` and the open reservations keep. */
  #trim(): void {
    while (this.#idle.length > this.#wantedIdle) {
      const surplus = this.#idle.pop();
      if (surplus === undefined) break;
      this.#leased.add(surplus);
      void this.#release(surplus, false);
    }
  }

  /** A ready session goes to the first waiter, or to the idle list. */
  #offer(session: Session): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      this.#lease(session);
      waiter.resolve(session);
    } else {
      this.#idle.push(session);
      this.#warmUp(session);
    }
  }

  /** Warms an idle session up (a lease stops it); one whose warm-up fails is replaced. */
  #warmUp(session: Session): void {
    if (this.#warmUpCells === 0) return;
    const warming = session
      .warmUp(this.#warmUpCells)
      .then(
        () => undefined,
        () => {
          // A worker that failed a trivial cell is not leased: retire it while still idle.
          const index = this.#idle.indexOf(session);
          if (index === -1) return;
          this.#idle.splice(index, 1);
          this.#leased.add(session);
          void this.#release(session);
        },
      )
      .finally(() => {
        this.#warmUps.delete(warming);
        this.#wakeWarmWaiters();
      });
    this.#warmUps.add(warming);
  }

  /** Starts a session for the first waiter; a failed start rejects that waiter. */
  #serveWaiter(): void {
    if (this.#closed || this.size >= this.#maxSessions) return;
    this.#create().then(
      (session) => this.#offer(session),
      (error: unknown) =>
        this.#waiters.shift()?.reject(error instanceof Error ? error : new Error(String(error))),
    );
  }

  /** A released session is retired, never reset for someone else; a fresh one takes its place. */
  async #release(session: Session, replace = true): Promise<void> {
    if (!this.#leased.delete(session)) return;
    this.#pending++;
    try {
      await this.#retire(session);
    } finally {
      this.#pending--;
    }
    if (replace) this.#replace();
  }

  /** Closes `session`, as a retirement `close()` waits for (its process and directory). */
  async #retire(session: Session): Promise<void> {
    const retired = session.close();
    this.#retiring.add(retired);
    try {
      await retired;
    } finally {
      this.#retiring.delete(retired);
    }
  }

  /** A session ended for good (closed, or gave up respawning): drop it and top up. */
  #forget(session: Session): void {
    const idleIndex = this.#idle.indexOf(session);
    if (idleIndex !== -1) this.#idle.splice(idleIndex, 1);
    this.#leased.delete(session);
    this.#replace();
  }

  /** Keeps waiters served and the warm set full after a session left. */
  #replace(): void {
    if (this.#closed) return;
    if (this.#waiters.length > this.#warming) this.#serveWaiter();
    this.#fill();
  }
}
