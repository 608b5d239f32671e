/**
 * Idle heartbeats and dead-peer detection for one channel, FIX style:
 * - a heartbeat goes out only when nothing else was sent for `intervalMs`;
 * - a peer silent for `intervalMs + graceMs` gets a test request;
 * - if nothing arrives within `graceMs` after that, the peer is declared dead.
 * Sending and receiving only record a timestamp; the timers wake up at the earliest
 * moment something could be due and recompute, so a busy channel pays no timer churn.
 */
import type { Clock, TimerHandle } from "./clock.ts";

export interface LivenessHooks {
  /** Nothing was sent for the interval: send a heartbeat now. */
  sendHeartbeat(): void;
  /** The peer was silent: send a test request. */
  sendTestRequest(): void;
  /** The test request went unanswered. Called once; the monitor stops. */
  declareDead(silentForMs: number): void;
}

/**
 * How long an answering side (`answerPeer`) goes without sending before it heartbeats on
 * its own timer, in intervals: long enough that the timer, which is never cleared (a
 * cleared Node timer still wakes its thread when it would have fired), fires only every
 * ~4.5 intervals while the peer's heartbeats keep coming.
 */
const ANSWER_FALLBACK_INTERVALS = 5;

export class Liveness {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  /** Nothing sent for this long: a heartbeat is due (the interval, or the fallback). */
  readonly #sendAfterMs: number;
  readonly #answerPeer: boolean;
  /**
   * Timers fire on multiples of this (0: anywhere): a host holding many channels then
   * wakes once for all the heartbeats due in the same grid step, not once for each.
   */
  readonly #gridMs: number;
  readonly #graceMs: number;
  readonly #hooks: LivenessHooks;
  #lastSentAt: number;
  #lastReceivedAt: number;
  /** When the pending test request was sent, if one is pending. */
  #testSentAt: number | undefined;
  #sendTimer: TimerHandle | undefined;
  #receiveTimer: TimerHandle | undefined;
  #running = false;
  #watching = true;

  /**
   * With `answerPeer`, this side sends its heartbeat in answer to each of the peer's
   * (see `peerHeartbeat`), and on its own only when the peer's stop coming.
   */
  constructor(
    clock: Clock,
    intervalMs: number,
    graceMs: number,
    hooks: LivenessHooks,
    options: { answerPeer?: boolean; gridMs?: number } = {},
  ) {
    this.#clock = clock;
    this.#intervalMs = intervalMs;
    this.#answerPeer = options.answerPeer ?? false;
    this.#gridMs = options.gridMs ?? 0;
    this.#sendAfterMs = this.#answerPeer ? intervalMs * ANSWER_FALLBACK_INTERVALS : intervalMs;
    this.#graceMs = graceMs;
    this.#hooks = hooks;
    this.#lastSentAt = clock.now();
    this.#lastReceivedAt = this.#lastSentAt;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const now = this.#clock.now();
    this.#lastSentAt = now;
    this.#lastReceivedAt = now;
    this.#armSend(this.#sendAfterMs);
    if (this.#watching) this.#armReceive(this.#intervalMs + this.#graceMs);
  }

  stop(): void {
    this.#running = false;
    if (this.#sendTimer !== undefined) this.#clock.clearTimeout(this.#sendTimer);
    if (this.#receiveTimer !== undefined) this.#clock.clearTimeout(this.#receiveTimer);
    this.#sendTimer = undefined;
    this.#receiveTimer = undefined;
  }

  /**
   * Stops or resumes watching the peer while still sending heartbeats: a host pauses it
   * while the worker runs a cell on its own event loop, which cannot answer meanwhile
   * (the cell's time limit guards that case instead).
   */
  watchPeer(enabled: boolean): void {
    if (!this.#running || enabled === this.#watching) return;
    this.#watching = enabled;
    if (this.#receiveTimer !== undefined) this.#clock.clearTimeout(this.#receiveTimer);
    this.#receiveTimer = undefined;
    this.#testSentAt = undefined;
    if (enabled) {
      this.#lastReceivedAt = this.#clock.now();
      this.#armReceive(this.#intervalMs + this.#graceMs);
    }
  }

  noteSent(): void {
    this.#lastSentAt = this.#clock.now();
  }

  /**
   * The peer's heartbeat came in. An answering side sends its own now, so that both
   * travel in one wake-up of each side instead of two (a wake-up of an idle thread costs
   * ~0.2–0.4 ms of CPU), unless it sent something within the last half interval.
   */
  peerHeartbeat(): void {
    if (!this.#running || !this.#answerPeer) return;
    if (this.#clock.now() - this.#lastSentAt < this.#intervalMs / 2) return;
    this.#hooks.sendHeartbeat();
    if (this.#running) this.#lastSentAt = this.#clock.now();
  }

  /** Any frame from the peer proves it alive and answers a pending test request. */
  noteReceived(): void {
    this.#lastReceivedAt = this.#clock.now();
    this.#testSentAt = undefined;
  }

  #armSend(delayMs: number): void {
    this.#sendTimer = this.#clock.setTimeout(() => this.#onSendTimer(), this.#onGrid(delayMs));
  }

  #armReceive(delayMs: number): void {
    this.#receiveTimer = this.#clock.setTimeout(
      () => this.#onReceiveTimer(),
      this.#onGrid(delayMs),
    );
  }

  /** The delay to the first grid point at or after `delayMs` from now (see `gridMs`). */
  #onGrid(delayMs: number): number {
    const delay = Math.max(0, delayMs);
    if (this.#gridMs <= 0) return delay;
    const now = this.#clock.now();
    return Math.ceil((now + delay) / this.#gridMs) * this.#gridMs - now;
  }

  #onSendTimer(): void {
    this.#sendTimer = undefined;
    if (!this.#running) return;
    const idleFor = this.#clock.now() - this.#lastSentAt;
    if (idleFor >= this.#sendAfterMs) {
      this.#hooks.sendHeartbeat();
      // The hook may have stopped the monitor (a failed write closes the channel).
      if (!this.#running) return;
      this.#lastSentAt = this.#clock.now();
      this.#armSend(this.#sendAfterMs);
    } else {
      this.#armSend(this.#sendAfterMs - idleFor);
    }
  }

  #onReceiveTimer(): void {
    this.#receiveTimer = undefined;
    if (!this.#running) return;
    const now = this.#clock.now();
    if (this.#testSentAt !== undefined) {
      const waited = now - this.#testSentAt;
      if (waited >= this.#graceMs) {
        this.stop();
        this.#hooks.declareDead(now - this.#lastReceivedAt);
        return;
      }
      this.#armReceive(this.#graceMs - waited);
      return;
    }
    const silentFor = now - this.#lastReceivedAt;
    const allowed = this.#intervalMs + this.#graceMs;
    if (silentFor < allowed) {
      this.#armReceive(allowed - silentFor);
      return;
    }
    this.#testSentAt = now;
    this.#hooks.sendTestRequest();
    if (this.#running) this.#armReceive(this.#graceMs);
  }
}

export interface StallHooks {
  /** Bytes of an unfinished frame held by the decoder. */
  partialBytes(): number;
  /** Frames completed so far (any progress resets the watch). */
  framesReceived(): number;
  /** When the peer's latest bytes arrived. */
  lastDataAt(): number;
  sendTestRequest(): void;
  /** The peer kept sending after a test request, and still no frame completed. */
  declareStalled(partialBytes: number, stalledForMs: number): void;
}

/**
 * Watches for a frame that never ends: a forged length swallows every later frame, so the
 * peer looks silent while its bytes keep arriving. Independent of `Liveness.watchPeer`,
 * which a host pauses while the peer runs a cell: this is a broken stream, not a busy peer.
 *
 * An unfinished frame that makes no progress for `stallMs` gets a test request. An honest
 * peer answers after the frame it is writing, which completes it; a peer whose answer
 * arrives and still completes no frame within `graceMs` is declared stalled. A peer that
 * sends nothing at all is left to `Liveness` (it may be stopped mid-write).
 */
export class StallWatch {
  readonly #clock: Clock;
  readonly #stallMs: number;
  readonly #graceMs: number;
  readonly #hooks: StallHooks;
  #timer: TimerHandle | undefined;
  #framesAtArm = 0;
  #testSentAt: number | undefined;
  #stopped = false;

  constructor(clock: Clock, stallMs: number, graceMs: number, hooks: StallHooks) {
    this.#clock = clock;
    this.#stallMs = stallMs;
    this.#graceMs = graceMs;
    this.#hooks = hooks;
  }

  /** Called after each received chunk was decoded. */
  noteData(): void {
    if (this.#stopped || this.#timer !== undefined || this.#hooks.partialBytes() === 0) return;
    this.#arm(this.#stallMs);
  }

  stop(): void {
    this.#stopped = true;
    this.#disarm();
  }

  #arm(delayMs: number): void {
    if (this.#testSentAt === undefined) this.#framesAtArm = this.#hooks.framesReceived();
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), Math.max(0, delayMs));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#testSentAt = undefined;
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const partial = this.#hooks.partialBytes();
    if (partial === 0 || this.#hooks.framesReceived() !== this.#framesAtArm) {
      this.#testSentAt = undefined;
      if (partial > 0) this.#arm(this.#stallMs);
      return;
    }
    const now = this.#clock.now();
    if (this.#testSentAt === undefined) {
      this.#testSentAt = now;
      this.#hooks.sendTestRequest();
      if (!this.#stopped) this.#arm(this.#graceMs);
      return;
    }
    if (now - this.#testSentAt < this.#graceMs) {
      this.#arm(this.#graceMs - (now - this.#testSentAt));
      return;
    }
    // Bytes that arrived after the request, whatever they were, completed no frame.
    if (this.#hooks.lastDataAt() >= this.#testSentAt) {
      this.stop();
      this.#hooks.declareStalled(partial, now - this.#testSentAt + this.#stallMs);
      return;
    }
    // Silent, not stalled: watch the frame afresh.
    this.#testSentAt = undefined;
    this.#arm(this.#stallMs);
  }
}
