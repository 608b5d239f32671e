/**
 * Poison cells: a durable execute step whose attempts keep killing the orchestrating
 * process (a cell doing `process.kill(process.ppid, "SIGKILL")` without an OS sandbox,
 * a native crash, an OOM kill) would otherwise crash-loop the job for ever: each restart
 * re-runs the unrecorded step, and the SDK's retry limit never sees an attempt that
 * took its process down with it.
 *
 * So before a step's cell runs, this process leaves a marker in the store: promise
 * `S.attempt-k` for step `S`, tagged with this Capsule's incarnation (a random id per
 * open, not the SDK pid, which a user may fix). A process that attempted a step and
 * did not settle it is gone: had its attempt ended (result, user error, crash retries
 * used up), the step would be recorded and never attempted again. So the markers of
 * other incarnations count the deaths; once `limit` of them exist, the step is failed
 * with PoisonCellError instead of run again. In-process retries (a crashed worker)
 * reuse their incarnation's marker and do not count.
 *
 * A marker is created already settled (its deadline is now: the server records it as
 * timed out at once), so it costs one commit, never holds a lineage pending (gc), and
 * lives in the store like any promise of the execution: it survives the orchestrator's
 * death by construction, and remote mode counts in the server.
 *
 * An incarnation that closed Capsule while a cell ran, or (remote mode) that lost its
 * lease while still alive, also counts as a death: from the store, they look the same.
 */
import { randomUUID } from "node:crypto";
import type { Network } from "@resonatehq/sdk";
import type { Resonate } from "@resonatehq/sdk/async";
import { PoisonCellError } from "../src/errors.ts";
import { getPromise } from "./promise-query.ts";

/** Tag value (`capsule:kind`) of an attempt marker. */
export const ATTEMPT_KIND = "attempt";

/** Default number of orchestrator deaths a step may cause before it is a poison cell. */
export const DEFAULT_POISON_AFTER_KILLS = 3;

const SOURCE_PREFIX_CHARS = 80;
const INCARNATION_TAG = "capsule:incarnation";

/** The step an attempt belongs to. */
export interface StepAttempt {
  /** The step's durable promise id. */
  stepId: string;
  /** The execution's origin (its root's id), for the marker's lineage tag. */
  originId: string;
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
  readonly #incarnation = randomUUID();

  constructor(options: AttemptLedgerOptions) {
    this.#limit = poisonLimit(options.poisonAfterKills);
    this.#send = options.send;
    this.#promises = options.promises;
  }

  /**
   * Records that this process attempts `step`. Call it before the cell runs.
   * @throws PoisonCellError when other processes' attempts of the step died
   *   `poisonAfterKills` times; nothing is recorded then, the cell must not run.
   */
  async begin(step: StepAttempt): Promise<void> {
    const deaths = new Set<string>();
    let mine = false;
    let attempt = 1;
    for (; ; attempt++) {
      const marker = await getPromise(this.#send, markerId(step.stepId, attempt));
      if (marker === undefined) break;
      const incarnation = marker.tags[INCARNATION_TAG] ?? marker.id;
      if (incarnation === this.#incarnation) mine = true;
      else deaths.add(incarnation);
    }
    if (deaths.size >= this.#limit) {
      throw new PoisonCellError({
        session: step.session,
        step: step.index,
        source: step.code.slice(0, SOURCE_PREFIX_CHARS),
        kills: deaths.size,
      });
    }
    if (mine) return;
    // Settled on creation: a deadline that has passed makes the server record it timed out.
    await this.#promises.create(markerId(step.stepId, attempt), Date.now(), {
      tags: {
        "resonate:origin": step.originId,
        "resonate:parent": step.stepId,
        "capsule:kind": ATTEMPT_KIND,
        [INCARNATION_TAG]: this.#incarnation,
      },
    });
  }
}

function markerId(stepId: string, attempt: number): string {
  return `${stepId}.attempt-${attempt}`;
}
