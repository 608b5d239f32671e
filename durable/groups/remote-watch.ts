/**
 * The orchestrator's side of a running remote cell: its live output (see output-log.ts)
 * and its questions. Reads the step's output log in order and feeds each chunk to the
 * `onOutput` of the execute that issued the step, and answers each question the cell
 * asks (`input()`: a durable promise `<stepId>.input-<k>` the worker created, see
 * human-input.ts) with that execute's `onInput`, unless someone answered it first, and
 * each capability call (`<stepId>.cap-<k>`) with that execute's host function (see
 * remote-capabilities.ts).
 *
 * Why this lives outside the durable function: in SDK 0.11.5 an rpc that is still
 * pending ends the pass (the function's promise hangs and the task is suspended); the
 * record arrives in a later pass, which runs the function again from the top. So the
 * watch belongs to the process (one RemoteCellWatch per Capsule), started by the pass
 * that issued the step and read by the pass that gets its record:
 *
 * - a chunk this process delivered live is replayed from the record with `replayed:
 *   true`, as the output of any cell recorded before a pass is;
 * - a chunk of the record the watch had not reached yet is delivered unmarked, so a
 *   consumer that shows only unmarked chunks shows each one once;
 * - a step already recorded when the pass that issued it ran (a replay) replays its
 *   whole record marked, as before, and costs no read of the store.
 *
 * The watch reads the next batch and the next question (a `promise.get` each: no event
 * exists for a promise another process creates) at STREAM_INTERVAL_MS while output
 * comes, backing off to MAX_POLL_MS while none does, and ends once the step is settled
 * and its log read to the end (the worker writes every batch before the record).
 */
import type { Network } from "@resonatehq/sdk";
import type { Capabilities, OutputChunk } from "../../src/session/index.ts";
import type { StepPromises } from "../capability-steps.ts";
import { decodeValue, getPromise } from "../promise-query.ts";
import { batchOf, outputBatchId, STREAM_INTERVAL_MS } from "./output-log.ts";
import { answerCall, getCall } from "./remote-capabilities.ts";

const MAX_POLL_MS = 400;
/** How long a finished watch keeps its counts for the pass that gets the record. */
const KEEP_ENDED_MS = 60_000;

/** Where the cell's questions are and how one is answered (HumanInputs). */
export interface QuestionDesk {
  /** The id of question `k` of step `stepId`. */
  id(stepId: string, k: number): string;
  /** Answers question `id`; rejects when someone answered it first. */
  answer(id: string, value: string): Promise<void>;
}

export interface WatchCallbacks {
  onOutput?: ((chunk: OutputChunk) => void) | undefined;
  onInput?: ((prompt: string) => string | Promise<string>) | undefined;
  /** The execute's host functions, and the store their call records are settled in. */
  capabilities?: { granted: Capabilities; store: StepPromises } | undefined;
}

interface Watch extends WatchCallbacks {
  stepId: string;
  /** The pass (DurableSession) that started the watch. */
  owner: object;
  next: number;
  /** The next question to look for. */
  question: number;
  /** The next capability call to look for. */
  call: number;
  /** Chunks delivered live, per attempt token. */
  delivered: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  delay: number;
  /** The step was seen unsettled: a step already recorded is never streamed, only replayed. */
  seenPending: boolean;
  stopped: boolean;
}

export class RemoteCellWatch {
  readonly #send: Network["send"];
  readonly #questions: QuestionDesk;
  readonly #watches = new Map<string, Watch>();
  #closed = false;

  constructor(send: Network["send"], questions: QuestionDesk) {
    this.#send = send;
    this.#questions = questions;
  }

  /** Watches step `stepId` for the callbacks (a later pass retargets the watch to its own). */
  watch(stepId: string, callbacks: WatchCallbacks, pass: object): void {
    const { onOutput, onInput, capabilities } = callbacks;
    if (
      this.#closed ||
      (onOutput === undefined && onInput === undefined && capabilities === undefined)
    ) {
      return;
    }
    const existing = this.#watches.get(stepId);
    if (existing !== undefined) {
      existing.onOutput = onOutput;
      existing.onInput = onInput;
      existing.capabilities = capabilities;
      return;
    }
    const watch: Watch = {
      stepId,
      owner: pass,
      ...callbacks,
      next: 0,
      question: 0,
      call: 0,
      delivered: new Map(),
      timer: undefined,
      delay: STREAM_INTERVAL_MS,
      seenPending: false,
      stopped: false,
    };
    this.#watches.set(stepId, watch);
    // The first read waits one interval: a replayed step mostly settles in its pass first.
    this.#schedule(watch);
  }

  /**
   * Stops watching step `stepId` (its record is here) and says how many of the record's
   * chunks (those of `attempt`, the one recorded) this process already delivered live:
   * undefined when the step was recorded before the pass that issued it ran.
   */
  finish(stepId: string, attempt: string | undefined, pass: object): number | undefined {
    const watch = this.#watches.get(stepId);
    if (watch === undefined) return undefined;
    this.#stop(watch);
    if (watch.owner === pass || watch.onOutput === undefined) return undefined;
    return attempt === undefined ? 0 : (watch.delivered.get(attempt) ?? 0);
  }

  /** Stops every watch (Capsule closes). */
  close(): void {
    this.#closed = true;
    for (const watch of this.#watches.values()) this.#stop(watch);
  }

  #stop(watch: Watch): void {
    watch.stopped = true;
    clearTimeout(watch.timer);
    if (this.#watches.get(watch.stepId) === watch) this.#watches.delete(watch.stepId);
  }

  #schedule(watch: Watch): void {
    if (watch.stopped) return;
    watch.timer = setTimeout(() => void this.#read(watch), watch.delay);
    watch.timer.unref();
  }

  async #read(watch: Watch): Promise<void> {
    try {
      if (!watch.seenPending) {
        // A replay's step is settled before its pass issues it, and may settle in the
        // pass later than the first read: its output comes from the record alone.
        const step = await getPromise(this.#send, watch.stepId);
        if (watch.stopped) return;
        if (step !== undefined && step.state !== "pending") return this.#ended(watch);
        watch.seenPending = true;
      }
      if (watch.onInput !== undefined) await this.#answerQuestions(watch);
      if (watch.capabilities !== undefined) await this.#answerCalls(watch);
      let stepSettled = false;
      for (;;) {
        if (watch.stopped) return;
        if (watch.onOutput === undefined) break;
        const batch = await getPromise(this.#send, outputBatchId(watch.stepId, watch.next));
        if (watch.stopped) return;
        if (batch !== undefined && batch.state !== "pending") {
          watch.next++;
          watch.delay = STREAM_INTERVAL_MS;
          const parsed = batchOf(batch);
          if (parsed !== undefined) this.#deliver(watch, parsed.attempt, parsed.chunks);
          continue;
        }
        // Batches are written before the record: a settled step's log ends here.
        if (stepSettled) return this.#ended(watch);
        const step = await getPromise(this.#send, watch.stepId);
        if (watch.stopped) return;
        if (step === undefined || step.state === "pending") break;
        stepSettled = true;
      }
      if (watch.onOutput === undefined) {
        const step = await getPromise(this.#send, watch.stepId);
        if (watch.stopped) return;
        if (step !== undefined && step.state !== "pending") return this.#ended(watch);
      }
      watch.delay = Math.min(watch.delay * 2, MAX_POLL_MS);
    } catch {
      // The server is unreachable for now (a restart): look again later.
      watch.delay = MAX_POLL_MS;
    }
    this.#schedule(watch);
  }

  /** Answers the cell's questions asked so far, in order, with the caller's onInput. */
  async #answerQuestions(watch: Watch): Promise<void> {
    for (;;) {
      const id = this.#questions.id(watch.stepId, watch.question);
      const question = await getPromise(this.#send, id);
      if (question === undefined || watch.stopped) return;
      watch.question++;
      // Answered already (by someone else, or for an earlier attempt of the cell).
      if (question.state !== "pending" || watch.onInput === undefined) continue;
      watch.delay = STREAM_INTERVAL_MS;
      const param = decodeValue(question, "param") as { prompt?: unknown } | undefined;
      const prompt = typeof param?.prompt === "string" ? param.prompt : "";
      let answer: string;
      try {
        answer = String(await watch.onInput(prompt));
      } catch {
        // The caller could not answer: the question waits for another answerer.
        continue;
      }
      await this.#questions.answer(id, answer).catch(() => {
        // Someone answered first: the first answer stands.
      });
    }
  }

  /**
   * Runs the host function of each capability call the cell made so far, in order. A
   * call is not awaited here (a slow host function must not hold the cell's output);
   * one already settled (by an earlier attempt's answer) is never run again.
   */
  async #answerCalls(watch: Watch): Promise<void> {
    for (;;) {
      const call = await getCall(this.#send, watch.stepId, watch.call);
      if (call === undefined || watch.stopped) return;
      const index = watch.call++;
      const capabilities = watch.capabilities;
      if (call.state !== "pending" || capabilities === undefined) continue;
      watch.delay = STREAM_INTERVAL_MS;
      void answerCall(capabilities.store, call, capabilities.granted).catch(() => {
        // The store was unreachable: the call is still pending; look at it again (its
        // host function runs again, as after a crash while it ran).
        watch.call = Math.min(watch.call, index);
      });
    }
  }

  #deliver(watch: Watch, attempt: string, chunks: OutputChunk[]): void {
    for (const chunk of chunks) {
      watch.delivered.set(attempt, (watch.delivered.get(attempt) ?? 0) + 1);
      try {
        watch.onOutput?.(chunk);
      } catch {
        // The caller's callback failing must not stop the stream (as with a local cell).
      }
    }
  }

  /** The log is read to its end: keep the counts a while for the pass that gets the record. */
  #ended(watch: Watch): void {
    watch.timer = setTimeout(() => this.#stop(watch), KEEP_ENDED_MS);
    watch.timer.unref();
  }
}
