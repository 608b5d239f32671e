/**
 * The service thread's side of the main thread's inbox: posts each message to the main
 * thread with a doorbell, and watches that the main thread answers. A main thread that
 * owes a doorbell while it runs JavaScript outside Capsule's code and outside a running
 * cell is held by a *stray* callback (a timer or promise callback a finished cell left
 * behind, e.g. `setTimeout(() => { while (true) {} })`): it is stopped with the interrupt
 * the cells use, claimed through the `MAIN` word (see service-protocol.ts) so that it
 * never cuts Capsule's own code, and the main thread is told, so the user is.
 *
 * Bounds (documented in the README's limits):
 * - a message waiting for the main thread (a cell, a checkpoint, a cancel notice) waits at
 *   most `STRAY_WAIT_MS` (1 s), or half the waiting cell's time limit if that is shorter,
 *   so the cell still runs within its own limit;
 * - with nothing waiting, a ping every few seconds checks the main thread, and a callback
 *   that holds it longer than the session's cell time limit is stopped all the same (a
 *   forgotten spinning timer does not burn a core for ever).
 */
import { Session as InspectorSession } from "node:inspector";
import type { MessagePort } from "node:worker_threads";
import {
  type FromService,
  MAIN_FREE,
  MAIN_STRAY_CLAIMED,
  MAIN_STRAY_REQUESTED,
  Slot,
} from "./service-protocol.ts";

/** The longest a message waits for a main thread held by a stray callback. */
export const STRAY_WAIT_MS = 1000;
/** An idle main thread is pinged this often at most. */
const PING_MS = 5000;

/** What the watch needs to know about the current cell. */
export interface CellView {
  token: number;
  executionId: string;
  /** Stopped by its deadline, a cancel or a shutdown. */
  stopped: boolean;
}

/** An unanswered doorbell. */
interface Owed {
  /** The main thread's `PULSE` when it was rung (a change: it has come in since). */
  pulse: number;
  /** Since when the main thread has made no progress on it. */
  since: number;
  /** When to look again; the smallest bound of the messages waiting. */
  checkAt: number;
  limitMs: number;
}

export class MainWatch {
  readonly #shared: Int32Array;
  readonly #inbox: MessagePort;
  readonly #ring: () => void;
  readonly #idleLimitMs: number;
  readonly #pingMs: number;
  readonly #current: () => CellView | undefined;
  readonly #diagnostic: (text: string) => void;
  #owed: Owed | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #lastPulse = -1;
  #lastPulseAt = performance.now();
  /** The inspector session of the latest stray stop, until the main thread is back. */
  #inspector: InspectorSession | undefined;

  constructor(options: {
    shared: Int32Array;
    inbox: MessagePort;
    /** Posts a doorbell to the main thread. */
    ring: () => void;
    /** The session's cell time limit: the bound of a stray callback nothing waits for. */
    idleLimitMs: number;
    current: () => CellView | undefined;
    diagnostic: (text: string) => void;
  }) {
    this.#shared = options.shared;
    this.#inbox = options.inbox;
    this.#ring = options.ring;
    this.#idleLimitMs = options.idleLimitMs;
    this.#pingMs = Math.min(PING_MS, Math.max(200, options.idleLimitMs / 2));
    this.#current = options.current;
    this.#diagnostic = options.diagnostic;
  }

  /** Posts `message` to the main thread, which should take it within `limitMs`. */
  post(message: FromService, limitMs: number = STRAY_WAIT_MS, forceRing = false): void {
    this.#inbox.postMessage(message);
    const now = performance.now();
    if (Atomics.exchange(this.#shared, Slot.DOORBELL, 1) === 0) {
      this.#ring();
      this.#owed = {
        pulse: Atomics.load(this.#shared, Slot.PULSE),
        since: now,
        checkAt: now + limitMs,
        limitMs,
      };
    } else {
      if (forceRing) this.#ring();
      this.#owed ??= {
        pulse: Atomics.load(this.#shared, Slot.PULSE),
        since: now,
        checkAt: now + limitMs,
        limitMs,
      };
      const owed = this.#owed;
      if (now + limitMs < owed.checkAt) {
        owed.checkAt = now + limitMs;
        owed.limitMs = limitMs;
      }
    }
    this.#arm(this.#owed.checkAt);
  }

  /** Called on the service thread's periodic tick: pings a main thread not seen for a while. */
  tick(): void {
    const now = performance.now();
    const pulse = Atomics.load(this.#shared, Slot.PULSE);
    if (pulse !== this.#lastPulse) {
      this.#lastPulse = pulse;
      this.#lastPulseAt = now;
      if (Atomics.load(this.#shared, Slot.MAIN) !== MAIN_STRAY_REQUESTED) this.recovered();
      return;
    }
    if (
      Atomics.load(this.#shared, Slot.DOORBELL) === 0 &&
      now - this.#lastPulseAt >= this.#pingMs
    ) {
      this.#lastPulseAt = now;
      this.post({ type: "ping" }, this.#idleLimitMs);
    }
  }

  /** The main thread is back after a stray stop: its inspector session can go. */
  recovered(): void {
    this.#inspector?.disconnect();
    this.#inspector = undefined;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#check(), Math.max(0, at - performance.now()));
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const owed = this.#owed;
    if (owed === undefined) return;
    if (Atomics.load(this.#shared, Slot.DOORBELL) === 0) {
      this.#owed = undefined;
      return;
    }
    const now = performance.now();
    if (now < owed.checkAt) {
      this.#arm(owed.checkAt);
      return;
    }
    const later = () => {
      owed.checkAt = now + owed.limitMs;
      this.#arm(owed.checkAt);
    };
    const pulse = Atomics.load(this.#shared, Slot.PULSE);
    if (pulse !== owed.pulse) {
      // It came into Capsule code since (a cell ending): progress, not a stray.
      owed.pulse = pulse;
      owed.since = now;
      later();
      return;
    }
    // RUNTIME: Capsule's own code, or a cell's synchronous part (its deadline watches it);
    // BUSY: a restore, whose continuations run from the event loop.
    if (
      Atomics.load(this.#shared, Slot.MAIN) !== MAIN_FREE ||
      Atomics.load(this.#shared, Slot.BUSY) > 0
    ) {
      later();
      return;
    }
    const cell = this.#current();
    const received = cell !== undefined && Atomics.load(this.#shared, Slot.RECEIVED) >= cell.token;
    // A running cell's own callbacks may be what holds the thread: its deadline decides,
    // and once it has stopped the cell, whatever still holds the thread goes.
    if (cell !== undefined && received && !cell.stopped) {
      later();
      return;
    }
    this.#stopStray(owed, now, cell, received);
  }

  #stopStray(owed: Owed, now: number, cell: CellView | undefined, received: boolean): void {
    if (
      Atomics.compareExchange(this.#shared, Slot.MAIN, MAIN_FREE, MAIN_STRAY_CLAIMED) !== MAIN_FREE
    ) {
      this.#retry(owed, now);
      return;
    }
    // The main thread came in just now: it is not stuck.
    if (Atomics.load(this.#shared, Slot.PULSE) !== owed.pulse) {
      Atomics.store(this.#shared, Slot.MAIN, MAIN_FREE);
      this.#retry(owed, now);
      return;
    }
    this.recovered();
    const inspector = new InspectorSession();
    try {
      inspector.connectToMainThread();
      // Requests the interrupt synchronously; it lands at the main thread's next check.
      inspector.post("Runtime.terminateExecution", (error) => {
        if (error !== null)
          this.#diagnostic(`[capsule] stopping a stray callback failed: ${error.message}\n`);
      });
    } catch (error) {
      Atomics.store(this.#shared, Slot.MAIN, MAIN_FREE);
      this.#diagnostic(`[capsule] cannot stop a stray callback: ${String(error)}\n`);
      return;
    }
    this.#inspector = inspector;
    Atomics.store(this.#shared, Slot.MAIN, MAIN_STRAY_REQUESTED);
    const waiting = cell !== undefined && !received && !cell.stopped;
    const notice: FromService = {
      type: "stray_stopped",
      heldMs: Math.round(now - owed.since),
      limitMs: owed.limitMs,
      afterStop: cell?.stopped === true,
      ...(waiting ? { waitingCell: cell.executionId } : {}),
    };
    owed.since = now;
    // A doorbell the termination cut short is not answered: ring again whatever DOORBELL says.
    this.post(notice, owed.limitMs, true);
  }

  #retry(owed: Owed, now: number): void {
    owed.checkAt = now + Math.min(owed.limitMs, 50);
    this.#arm(owed.checkAt);
  }
}
