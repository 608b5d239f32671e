/**
 * The time source of the session layer, injectable so that tests drive heartbeats and
 * dead-peer detection with a fake clock instead of sleeping.
 */

/** An opaque timer handle, whatever the clock's `setTimeout` returns. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds, monotonic enough for measuring intervals. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock. Its timers are unref'd: heartbeat bookkeeping alone never keeps a
 * process alive (the byte stream does, while it is open).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};
