/**
 * Poison cells: a durable execute step whose attempts keep killing the orchestrating
 * process (a cell doing `process.kill(process.ppid, "SIGKILL")` without an OS sandbox,
 * a native crash, an OOM kill) would otherwise crash-loop the job for ever: each restart
 * re-runs the unrecorded step, and the SDK's retry limit never sees an attempt that
 * took its process down with it.
 *
 * So every attempt is counted in the store before the cell runs: attempt k of step
 * `S` is a durable promise `S.attempt-k`, created pending when the attempt starts and
 * resolved when it ends in this process (whatever its outcome). A marker still pending
 * when a later attempt starts belongs to an attempt whose process died; once `limit`
 * attempts died so, the step is failed with PoisonCellError instead of run again. The
 * markers live in the store like every other promise of the execution (same origin,
 * so gc removes them with it; remote mode counts in the server), and survive the
 * orchestrator's death by construction.
 *
 * An attempt still running when Capsule is closed also leaves its marker pending and
 * counts as a kill: from the store's view the two cannot be told apart.
 */
import type { Network } from "@resonatehq/sdk";
import type { Resonate } from "@resonatehq/sdk/async";
import { PoisonCellError } from "../src/errors.ts";
import { getPromise } from "./promise-query.ts";

/** Tag value (`capsule:kind`) of an attempt marker. */
export const ATTEMPT_KIND = "attempt";

/** Default number of orchestrator deaths a step may cause before it is a poison cell. */
export const DEFAULT_POISON_AFTER_KILLS = 3;

const SOURCE_PREFIX_CHARS = 80;

/** The step an attempt belongs to. */
export interface StepAttempt {
  /** The step's durable promise id. */
  stepId: string;
  /** The execution's origin (its root's id), for the marker's lineage tag. */
  originId: string;
  /** The step's deadline; markers never outlive it. */
  timeoutAt: number;
  session: string;
  /** 0-based index of the execute call in its session. */
  index: number;
  code: string;
}

export interface AttemptLedgerOptions {
  send: Network["send"];
  promises: Resonate["promises"];
  /** Orchestrator deaths after which a step is failed (>= 1, or Infinity). */
  poisonAfterKills?: number;
}

/**
 * The limit `poisonAfterKills` stands for (default 3).
 * @throws RangeError unless it is a positive integer or Infinity.
 */
export function poisonLimit(poisonAfterKills: number | undefined): number {
  const limit = poisonAfterKills ?? DEFAULT_POISON_AFTER_KILLS;
  if (limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 1)) {
    return limit;
  }
  throw new RangeError(`poisonAfterKills must be a positive integer or Infinity, got ${limit}`);
}

export class AttemptLedger {
  readonly #send: Network["send"];
  readonly #promises: Resonate["promises"];
  readonly #limit: number;

  constructor(options: AttemptLedgerOptions) {
    this.#limit = poisonLimit(options.poisonAfterKills);
    this.#send = options.send;
    this.#promises = options.promises;
  }

  /**
   * Records the start of an attempt of `step` and returns the function that records its
   * end. Call it before the cell runs; call the returned function once the attempt is
   * over in this process, whatever its outcome.
   * @throws PoisonCellError when earlier attempts of the step killed their process
   *   `poisonAfterKills` times; nothing is recorded then, the cell must not run.
   */
  async begin(step: StepAttempt): Promise<() => Promise<void>> {
    const killed: string[] = [];
    let attempt = 1;
    for (; ; attempt++) {
      const marker = await getPromise(this.#send, markerId(step.stepId, attempt));
      if (marker === undefined) break;
      if (marker.state !== "resolved") killed.push(marker.id);
    }
    if (killed.length >= this.#limit) {
      await this.#closeKilled(killed);
      throw new PoisonCellError({
        session: step.session,
        step: step.index,
        source: step.code.slice(0, SOURCE_PREFIX_CHARS),
        kills: killed.length,
      });
    }
    const id = markerId(step.stepId, attempt);
    await this.#promises.create(id, step.timeoutAt, {
      tags: {
        "resonate:origin": step.originId,
        "resonate:parent": step.stepId,
        "capsule:kind": ATTEMPT_KIND,
      },
    });
    return async () => {
      await this.#promises.resolve(id);
      // The step is settled or about to be: nothing may stay pending in its lineage
      // (gc keeps a lineage with a pending promise). Rejected = died, for the count.
      await this.#closeKilled(killed);
    };
  }

  async #closeKilled(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const marker = await getPromise(this.#send, id);
      if (marker?.state === "pending") await this.#promises.reject(id);
    }
  }
}

function markerId(stepId: string, attempt: number): string {
  return `${stepId}.attempt-${attempt}`;
}
