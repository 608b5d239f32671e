/**
 * The daily sequence reset FIX sessions have: at a configured time of day (UTC) both
 * sides start again from MsgSeqNum 1.
 *
 * The wake-up is a durable timer, a Capsule durable function that sleeps until the
 * reset time (`ctx.sleep({ until })`, kept by the durable store, so it survives
 * restarts). A process that was down at the reset time does the reset it missed when it
 * starts (`catchUp`): the store knows when the current period began, and if a reset time
 * has passed since, the period is over.
 */
import type { Capsule, RegisteredFunction } from "../../durable/index.ts";
import { type Clock, systemClock } from "./clock.ts";
import { FixError } from "./errors.ts";
import type { FixSession } from "./session.ts";

const DAY = 24 * 60 * 60 * 1000;

/** "HH:MM:SS" (UTC) → milliseconds after midnight. */
export function parseResetTime(at: string): number {
  const match = /^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$/.exec(at);
  if (match === null) {
    throw new FixError(
      "FIX_INVALID_FIELD",
      `reset time ${JSON.stringify(at)} is not HH:MM:SS (UTC)`,
    );
  }
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

/** The latest reset time at or before `now`. */
export function lastResetAtOrBefore(now: number, at: string): number {
  const today = Math.floor(now / DAY) * DAY + parseResetTime(at);
  return today <= now ? today : today - DAY;
}

/** The first reset time after `now`. */
export function nextResetAfter(now: number, at: string): number {
  return lastResetAtOrBefore(now, at) + DAY;
}

/** Registers the durable timer; call right after `Capsule.open`, like every durable function. */
export function registerResetTimer(capsule: Capsule): RegisteredFunction<[number], number> {
  return capsule.register("fix.reset-timer", async (ctx, atMs: number) => {
    await ctx.sleep({ until: new Date(atMs) });
    return atMs;
  });
}

export interface DailyResetOptions {
  timer: RegisteredFunction<[number], number>;
  session: FixSession;
  /** Time of day, "HH:MM:SS" UTC. */
  at: string;
  clock?: Clock;
}

export class DailyReset {
  readonly #options: DailyResetOptions;
  readonly #clock: Clock;
  #stopped = false;

  constructor(options: DailyResetOptions) {
    parseResetTime(options.at);
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Does the reset missed while the process was down, if any; true if it reset. */
  async catchUp(): Promise<boolean> {
    const { session, at } = this.#options;
    const due = lastResetAtOrBefore(this.#clock.now(), at);
    if (session.sequence.epochStartedAt >= due) return false;
    await session.reset();
    return true;
  }

  /**
   * Arms the durable timer for each next reset time and runs `reset` when it fires
   * (e.g. `initiator.resetSequence()`), until `stop()`.
   */
  async run(reset: () => Promise<void>): Promise<void> {
    const { timer, session, at } = this.#options;
    while (!this.#stopped) {
      const next = nextResetAfter(this.#clock.now(), at);
      // One execution per reset time: a restart rejoins the timer already armed.
      const handle = await timer.run(`fix-reset/${session.key}/${next}`, next);
      await handle.result();
      if (this.#stopped) return;
      if (session.sequence.epochStartedAt < next) await reset();
    }
  }

  stop(): void {
    this.#stopped = true;
  }
}
