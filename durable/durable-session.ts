/**
 * `ctx.session(name)`: a session whose every `execute` is a durable step.
 *
 * The step is a `ctx.run` child promise whose recorded value is a StepRecord (result or
 * user error, output, checkpoint). On a resume, recorded steps return their records
 * without running; the handle remembers the latest checkpoint it saw, and the first step
 * that must really run leases a pooled session restored from it (lazily: a fully
 * recorded execution never starts a worker). User errors are recorded and rethrown as an
 * equivalent error on every replay; a crashed worker fails the attempt and the SDK retry
 * policy runs it again on a fresh, restored worker.
 */
import { type Context, DurablePromise, Exponential, type Info } from "@resonatehq/sdk/async";
import {
  CheckpointError,
  PoisonCellError,
  ProtocolError,
  SessionStateError,
  StoreError,
} from "../src/errors.ts";
import type { SessionCheckpoint } from "../src/session/index.ts";
import type { AttemptLedger } from "./attempt-ledger.ts";
import { durableCapabilities } from "./capability-steps.ts";
import { CarriedCapsuleError, carryError, rebuildStepRejection } from "./carried-error.ts";
import { type DurableExecuteOptions, runCell } from "./cell-runner.ts";
import { type DurableExecutionResult, resultFromRecord } from "./execution-result.ts";
import { type RanOn, ranOnOf } from "./groups/cell-request.ts";
import { remoteExecute } from "./groups/remote-execute.ts";
import type { HumanInputs } from "./human-input.ts";
import type { SessionSlot } from "./session-slot.ts";
import { applyDelta, isStepRecord, type StepRecord } from "./step-record.ts";

/** Retries of a step whose worker crashed (each on a fresh worker, restored). */
const CRASH_RETRY = { delay: 100, factor: 2, maxRetries: 3, maxDelay: 2_000 };
const NOT_RETRYABLE = [
  SessionStateError,
  CheckpointError,
  ProtocolError,
  StoreError,
  PoisonCellError,
];

/**
 * Why an attempt's signal is aborted when its cell ends. One shared reason: `abort()`
 * without one builds a DOMException, stack and all (~20 µs a step), that nothing reads.
 */
const ATTEMPT_ENDED = new Error("the cell's attempt ended");

/** What a failed attempt throws: errors that end the step are carried whole (code kept). */
function stepFailure(error: unknown): unknown {
  return NOT_RETRYABLE.some((kind) => error instanceof kind) ? carryError(error) : error;
}

export class DurableSession {
  readonly name: string;
  readonly #ctx: Context;
  readonly #slot: SessionSlot;
  readonly #attempts: AttemptLedger;
  readonly #inputs: HumanInputs;
  /** The latest recorded step seen in this pass, and its checkpoint. */
  #latest: { index: number; stepId: string; checkpoint: SessionCheckpoint | undefined } = {
    index: -1,
    stepId: "",
    checkpoint: undefined,
  };
  #calls = 0;
  /** Worker group the cells run in (`ctx.session(name, { group })`); undefined: in-process. */
  readonly #group: string | undefined;
  /** Id of this session's latest step in call order, and the worker its record ran on. */
  #lastStep = "";
  #latestWorker: string | undefined;
  /** Steps whose cell ran in this process during this pass (their output streamed live). */
  readonly #ranNow = new Set<string>();
  /** The options of every execute step, built once: the SDK's builder parses a URL each time. */
  #executeOptions: ReturnType<Context["options"]> | undefined;

  constructor(
    name: string,
    ctx: Context,
    slot: SessionSlot,
    attempts: AttemptLedger,
    inputs: HumanInputs,
    group?: string,
  ) {
    this.name = name;
    this.#group = group;
    this.#inputs = inputs;
    this.#ctx = ctx;
    this.#slot = slot;
    this.#attempts = attempts;
    // In-process cells: the worker starts while recorded steps replay (given back unused).
    if (group === undefined) slot.prepare();
  }

  /** Pid of the worker behind this session, while one is leased. */
  get workerPid(): number | undefined {
    return this.#slot.pid;
  }

  #stepOptions(): ReturnType<Context["options"]> {
    this.#executeOptions ??= this.#ctx.options({
      retryPolicy: new Exponential(CRASH_RETRY),
      nonRetryableErrors: [...NOT_RETRYABLE, CarriedCapsuleError],
      tags: { "capsule:session": this.name, "capsule:step": "execute" },
    });
    return this.#executeOptions;
  }

  /**
   * Runs `code` as a durable step. Resolves with the result; rejects with the recorded
   * user error (ExecutionError, TimeoutError, …) or, after the retries, WorkerCrashedError.
   */
  execute(
    code: string,
    options: DurableExecuteOptions = {},
  ): DurablePromise<DurableExecutionResult & { ranOn?: RanOn }> {
    const index = this.#calls++;
    if (this.#group !== undefined) return this.#executeRemote(this.#group, index, code, options);
    const step = this.#ctx.run(
      // Named: the SDK records the function name with the step.
      async function capsuleExecute(this: void, info: Info): Promise<StepRecord> {
        try {
          return await attempt(info);
        } catch (error) {
          throw stepFailure(error);
        }
      },
      this.#stepOptions(),
    );
    // Counted in the store first: a cell that kills this process must not loop for ever.
    const attempt = async (info: Info): Promise<StepRecord> => {
      await this.#attempts.begin({
        stepId: info.id,
        originId: info.originId,
        session: this.name,
        index,
        code,
      });
      return await run({ stepId: info.id, originId: info.originId });
    };
    const run = (step: { stepId: string; originId: string }): Promise<StepRecord> => {
      const latest = this.#latest;
      const loadCheckpoint = async () => latest.checkpoint;
      return this.#slot.run(
        latest.stepId,
        loadCheckpoint,
        async (session) => {
          // Each attempt counts its capability calls and questions from 0, so a re-run cell
          // meets its recorded ones in the same order.
          const attemptEnded = new AbortController();
          const granted = { ...session.capabilities, ...options.capabilities };
          try {
            const record = await runCell(session, code, {
              ...options,
              capabilities: durableCapabilities(granted, this.#inputs.store, step),
              onInput: this.#inputs.asker({
                ...step,
                session: this.name,
                onInput: options.onInput,
                timeoutMs: options.inputTimeoutMs,
                signal: attemptEnded.signal,
              }),
            });
            this.#ranNow.add(step.stepId);
            return { value: record, at: step.stepId };
          } finally {
            attemptEnded.abort(ATTEMPT_ENDED);
          }
        },
        code,
      );
    };
    const settled = step.then(
      (record: unknown) => this.#settle(step.id, index, record, options),
      (reason: unknown) => {
        throw rebuildStepRejection(reason);
      },
    );
    this.#lastStep = step.id;
    return new DurablePromise(step.id, settled);
  }

  /** The cell runs in a worker of `group` (durable/groups); the record is the same. */
  #executeRemote(
    group: string,
    index: number,
    code: string,
    options: DurableExecuteOptions,
  ): DurablePromise<DurableExecutionResult & { ranOn?: RanOn }> {
    // Prefer the worker that ran the previous step: its session is live there.
    const prefer = this.#latest.stepId === this.#lastStep ? this.#latestWorker : undefined;
    const step = remoteExecute(this.#ctx, {
      group,
      prefer,
      retryPolicy: new Exponential(CRASH_RETRY),
      session: this.name,
      index,
      code,
      prev: this.#lastStep,
      options,
    });
    this.#lastStep = step.id;
    // The watch outlives this pass, which ends while the rpc is pending; the pass that
    // gets the record learns how much of its output this process already showed.
    const live = this.#inputs.remoteCells;
    const granted = options.capabilities;
    live.watch(
      step.id,
      {
        onOutput: options.onOutput,
        onInput: options.onInput,
        capabilities: granted === undefined ? undefined : { granted, store: this.#inputs.store },
      },
      this,
    );
    const settled = step.then(
      (record: unknown) => {
        const ranOn = ranOnOf(record);
        const shownLive = live.finish(step.id, ranOn?.stream, this);
        try {
          const result = this.#settle(step.id, index, record, options, shownLive);
          return ranOn === undefined ? result : { ...result, ranOn };
        } finally {
          // Also after a recorded user error: the session stays live on that worker.
          if (ranOn !== undefined && this.#latest.stepId === step.id) {
            this.#latestWorker = ranOn.worker;
          }
        }
      },
      (reason: unknown) => {
        live.finish(step.id, undefined, this);
        throw rebuildStepRejection(reason);
      },
    );
    return new DurablePromise(step.id, settled);
  }

  #settle(
    stepId: string,
    index: number,
    record: unknown,
    options: DurableExecuteOptions,
    shownLive?: number,
  ): DurableExecutionResult {
    if (!isStepRecord(record)) {
      throw new StoreError(
        "STORE_CORRUPT",
        `durable step ${stepId} of session "${this.name}" does not hold an execute record`,
      );
    }
    if (index > this.#latest.index) {
      // Each record holds what its cell added; the chain is rebuilt step by step.
      const checkpoint =
        record.checkpoint === undefined
          ? this.#latest.checkpoint
          : applyDelta(this.#latest.checkpoint, record.checkpoint);
      this.#latest = { index, stepId, checkpoint };
    }
    return resultFromRecord(record, !this.#ranNow.delete(stepId), options.onOutput, shownLive);
  }
}
