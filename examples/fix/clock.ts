/**
 * The session's notion of time, injectable so tests can drive heartbeats and test
 * requests without waiting for real seconds.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Wall-clock time and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * Real timers running `factor` times faster than the session thinks: with factor 10 a
 * 30-second HeartBtInt fires every 3 real seconds. `now()` advances at the same rate.
 */
export function scaledClock(factor: number, base: Clock = systemClock): Clock {
  const start = base.now();
  return {
    now: () => start + (base.now() - start) * factor,
    after: (ms, fn) => base.after(ms / factor, fn),
  };
}
