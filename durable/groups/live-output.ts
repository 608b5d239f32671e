/**
 * The orchestrator's side of a remote cell's live output (see output-log.ts): reads the
 * step's output log in order and feeds each chunk to the `onOutput` of the execute that
 * issued the step, while the cell runs.
 *
 * Why this lives outside the durable function: in SDK 0.11.5 an rpc that is still
 * pending ends the pass (the function's promise hangs and the task is suspended); the
 * record arrives in a later pass, which runs the function again from the top. So the
 * watcher belongs to the process (one LiveOutputs per Capsule), started by the pass that
 * issued the step and read by the pass that gets its record:
 *
 * - a chunk this process delivered live is replayed from the record with `replayed:
 *   true`, as the output of any cell recorded before a pass is;
 * - a chunk of the record the watcher had not reached yet is delivered unmarked, so a
 *   consumer that shows only unmarked chunks shows each one once;
 * - a step already recorded when the pass that issued it ran (a replay) replays its
 *   whole record marked, as before, and costs no read of the log.
 *
 * The watcher reads batch n (a `promise.get`, no event exists for a promise another
 * process creates) at STREAM_INTERVAL_MS while output comes, backing off to
 * MAX_POLL_MS while none does, and ends once the step is settled and its log read to
 * the end (the worker writes every batch before the record).
 */
import type { Network } from "@resonatehq/sdk";
import type { OutputChunk } from "../../src/session/index.ts";
import { getPromise } from "../promise-query.ts";
import { batchOf, outputBatchId, STREAM_INTERVAL_MS } from "./output-log.ts";

const MAX_POLL_MS = 400;
/** How long a finished watch keeps its counts for the pass that gets the record. */
const KEEP_ENDED_MS = 60_000;

interface Watch {
  stepId: string;
  /** The pass (DurableSession) that started the watch. */
  owner: object;
  onOutput: (chunk: OutputChunk) => void;
  next: number;
  /** Chunks delivered live, per attempt token. */
  delivered: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
  delay: number;
  stopped: boolean;
}

export class LiveOutputs {
  readonly #send: Network["send"];
  readonly #watches = new Map<string, Watch>();
  #closed = false;

  constructor(send: Network["send"]) {
    this.#send = send;
  }

  /** Watches step `stepId`'s log for `onOutput` (a later pass retargets the watch to its own). */
  watch(stepId: string, onOutput: (chunk: OutputChunk) => void, pass: object): void {
    if (this.#closed) return;
    const existing = this.#watches.get(stepId);
    if (existing !== undefined) {
      existing.onOutput = onOutput;
      return;
    }
    const watch: Watch = {
      stepId,
      owner: pass,
      onOutput,
      next: 0,
      delivered: new Map(),
      timer: undefined,
      delay: STREAM_INTERVAL_MS,
      stopped: false,
    };
    this.#watches.set(stepId, watch);
    // The first read waits one interval: a replayed step settles in its pass before it.
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
    if (watch.owner === pass) return undefined;
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
      let stepSettled = false;
      for (;;) {
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
      watch.delay = Math.min(watch.delay * 2, MAX_POLL_MS);
    } catch {
      // The server is unreachable for now (a restart): look again later.
      watch.delay = MAX_POLL_MS;
    }
    this.#schedule(watch);
  }

  #deliver(watch: Watch, attempt: string, chunks: OutputChunk[]): void {
    for (const chunk of chunks) {
      watch.delivered.set(attempt, (watch.delivered.get(attempt) ?? 0) + 1);
      try {
        watch.onOutput(chunk);
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
