/**
 * The service thread's watch over its own process: it ends the process at once when the
 * host is gone (our parent changed) or resident memory is over the limit, and gives the
 * main thread's watch (main-watch.ts) its tick.
 *
 * It looks every `BUSY_MS` while something runs and about every `IDLE_MS` while the
 * session is idle, then on the wake-ups the host's heartbeats cause anyway (see `awake`).
 * A wake-up of this thread costs ~0.2–0.4 ms of CPU even when it does nothing, its caches
 * being cold by then: looking five times a second on a timer of its own made an idle
 * session cost ~2.9 ms of CPU a second, all of this machine's two cores for 700 idle
 * sessions. "Something runs" is a cell the host started, or CPU the process's other
 * threads used since the last look (a callback a cell left behind, a read finishing on
 * libuv's pool, a collection): memory does not grow while no thread runs, so the slower
 * pace only ever watches a process that is doing nothing.
 */
import type { Clock, TimerHandle } from "../../src/protocol/clock.ts";
import { MEMORY_LIMIT_MARKER } from "./service-protocol.ts";

/** Between looks while a cell runs or the process's other threads are busy. */
export const BUSY_MS = 200;
/** Between looks while the session is idle. */
export const IDLE_MS = 1000;
/**
 * The idle timer's period once looks come from other wake-ups: it is then only a backstop
 * for heartbeats that stop. It is never cleared while idle, since a cleared Node timer
 * still wakes its thread at the time it was due.
 */
export const IDLE_BACKSTOP_MS = 5000;
/**
 * CPU of the other threads since the last look (µs) that counts as something running.
 * An idle worker's own housekeeping (V8's, the main thread answering a ping) is ~0.2 ms
 * a second.
 */
const BUSY_CPU_MICROS = 2000;

/** CPU time in µs, as `process.cpuUsage()` reports it. */
export interface CpuTimes {
  user: number;
  system: number;
}

export interface ProcessWatchOptions {
  /** Default: real time, timers that keep the thread alive. */
  clock?: Clock;
  parentPid: number;
  memoryLimitBytes: number;
  /** Whether a cell runs (the host's `execute` until the main thread is done with it). */
  cellRunning(): boolean;
  /** Called at every look, first. */
  tick(): void;
  /** Ends the process with last words for the host's crash report. */
  end(text: string): void;
  /** The process's CPU and this thread's (default: Node's). */
  processCpu?: () => CpuTimes;
  threadCpu?: () => CpuTimes;
  parent?: () => number;
  rss?: () => number;
}

/**
 * Real time, with timers that keep the thread alive (as the watch's interval always did):
 * after the pipe has closed, the watch still ends a process whose main thread does not
 * get to its exit.
 */
const keepAliveClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ProcessWatch {
  readonly #options: ProcessWatchOptions;
  readonly #clock: Clock;
  readonly #processCpu: () => CpuTimes;
  readonly #threadCpu: () => CpuTimes;
  readonly #parent: () => number;
  readonly #rss: () => number;
  #timer: TimerHandle | undefined;
  #dueAt = Number.POSITIVE_INFINITY;
  #busy = true;
  #lastLookAt: number;
  /** Whether `awake` was called since the timer was armed. */
  #wokenSinceArm = false;
  /** Other threads' CPU (µs) at the last look. */
  #othersAt: number;
  #stopped = false;

  constructor(options: ProcessWatchOptions) {
    this.#options = options;
    this.#clock = options.clock ?? keepAliveClock;
    this.#processCpu = options.processCpu ?? (() => process.cpuUsage());
    this.#threadCpu = options.threadCpu ?? (() => process.threadCpuUsage());
    this.#parent = options.parent ?? (() => process.ppid);
    this.#rss = options.rss ?? (() => process.memoryUsage.rss());
    this.#lastLookAt = this.#clock.now();
    this.#othersAt = this.#othersCpu();
  }

  /** Starts looking, at the busy pace: a worker that has just started is not idle. */
  start(): void {
    this.#arm(BUSY_MS);
  }

  /** A cell began: look at the busy pace from now on (soon, if the next look is later). */
  cellStarted(): void {
    this.#busy = true;
    this.#hurry();
  }

  /**
   * The thread is awake for something else (the host's heartbeat): while idle, the look
   * happens now, sharing that wake-up, unless one happened within the last quarter of the
   * idle pace; the timer then leaves the looks to these wake-ups.
   */
  awake(): void {
    if (this.#stopped || this.#busy) return;
    this.#wokenSinceArm = true;
    if (this.#clock.now() - this.#lastLookAt >= IDLE_MS / 4) this.#look();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Brings the next look within the busy pace, if the armed timer is later. */
  #hurry(): void {
    if (this.#stopped || this.#timer === undefined) return;
    if (this.#dueAt - this.#clock.now() <= BUSY_MS) return;
    this.#clock.clearTimeout(this.#timer);
    this.#arm(BUSY_MS);
  }

  #arm(delayMs: number): void {
    this.#wokenSinceArm = false;
    this.#dueAt = this.#clock.now() + delayMs;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), delayMs);
  }

  #onTimer(): void {
    this.#timer = undefined;
    // Idle, and other wake-ups came and look: only the backstop is needed.
    if (!this.#busy && this.#wokenSinceArm && this.#clock.now() - this.#lastLookAt < IDLE_MS) {
      this.#arm(IDLE_BACKSTOP_MS);
      return;
    }
    this.#look();
    if (!this.#stopped) this.#arm(this.#busy ? BUSY_MS : IDLE_MS);
  }

  #look(): void {
    const options = this.#options;
    this.#lastLookAt = this.#clock.now();
    options.tick();
    if (this.#parent() !== options.parentPid) {
      options.end(`\ncapsule: host process ${options.parentPid} is gone; exiting\n`);
      return;
    }
    const rss = this.#rss();
    if (rss > options.memoryLimitBytes) {
      options.end(`\n${MEMORY_LIMIT_MARKER} rss=${rss}\n`);
      return;
    }
    const others = this.#othersCpu();
    const othersRan = others - this.#othersAt >= BUSY_CPU_MICROS;
    this.#othersAt = others;
    const busy = options.cellRunning() || othersRan;
    // Busy again, seen at a look a heartbeat's wake-up took: the armed timer may be the
    // backstop, seconds away.
    const wasBusy = this.#busy;
    this.#busy = busy;
    if (busy && !wasBusy) this.#hurry();
  }

  #othersCpu(): number {
    const all = this.#processCpu();
    const own = this.#threadCpu();
    return all.user + all.system - (own.user + own.system);
  }
}
