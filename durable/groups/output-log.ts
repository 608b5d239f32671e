/**
 * Live output of a remote cell, through the store: the only channel a worker and the
 * orchestrator share, and one that outlives either process.
 *
 * While a cell runs, its worker appends the output in batches to the step's output log:
 * batch n is the promise `<stepId>.out.<n>`, created with the batch as its param and
 * settled at once, tagged `capsule:kind=output`. What was printed is written at most
 * once every STREAM_INTERVAL_MS (then slower, see FAST_BATCHES), in batches of at most
 * STREAM_BATCH_BYTES (a larger single chunk goes alone), and every batch is in the
 * store before the cell's record: once the step is settled, its log is complete. The record still holds the whole output; the log is only a
 * faster view of it, so writing it is best effort (a store error stops the stream,
 * never the cell).
 *
 * Each attempt of the cell writes under a random attempt token. A re-run attempt (its
 * first worker crashed) appends after what the crashed one wrote: an id already taken
 * by another attempt is skipped, so two writers never overwrite each other, and a
 * reader tells the attempts apart by their tokens.
 */
import { randomUUID } from "node:crypto";
import { Codec, type PromiseRecord } from "@resonatehq/sdk";
import type { OutputChunk } from "../../src/session/index.ts";
import type { StepIdentity, StepPromises } from "../capability-steps.ts";
import { decodeValue } from "../promise-query.ts";

/** Tag value (`capsule:kind`) of a batch of live output. */
export const OUTPUT_KIND = "output";
/** The shortest time between two batches of one cell. */
export const STREAM_INTERVAL_MS = 50;
/**
 * After this many batches a cell's stream slows to one batch a SLOW_INTERVAL_MS: each
 * batch is a promise kept until the execution is collected, so a chatty cell that runs
 * for an hour writes ~3 600 of them instead of ~72 000.
 */
const FAST_BATCHES = 200;
const SLOW_INTERVAL_MS = 1_000;
/** The most output text one batch carries (a larger single chunk is a batch of its own). */
export const STREAM_BATCH_BYTES = 64 * 1024;

const codec = new Codec();

export interface OutputBatch {
  attempt: string;
  chunks: OutputChunk[];
}

/** The id of batch `n` of step `stepId`'s output log. */
export function outputBatchId(stepId: string, n: number): string {
  return `${stepId}.out.${n}`;
}

/** The batch a log promise holds, or undefined when it holds none (any client can write). */
export function batchOf(record: PromiseRecord): OutputBatch | undefined {
  let value: unknown;
  try {
    value = decodeValue(record, "param");
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { attempt, chunks } = value as Record<string, unknown>;
  if (typeof attempt !== "string" || !Array.isArray(chunks)) return undefined;
  const valid = chunks.every(
    (chunk: unknown) =>
      typeof chunk === "object" &&
      chunk !== null &&
      typeof (chunk as OutputChunk).data === "string" &&
      ["stdout", "stderr", "display"].includes((chunk as OutputChunk).stream),
  );
  return valid ? { attempt, chunks: chunks as OutputChunk[] } : undefined;
}

function sizeOf(chunk: OutputChunk): number {
  return chunk.data.length + (chunk.rich === undefined ? 0 : JSON.stringify(chunk.rich).length);
}

/** Splits chunks into batches of at most STREAM_BATCH_BYTES (a larger chunk alone). */
function batches(chunks: OutputChunk[]): OutputChunk[][] {
  const out: OutputChunk[][] = [];
  let current: OutputChunk[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    const size = sizeOf(chunk);
    if (current.length > 0 && bytes + size > STREAM_BATCH_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(chunk);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The worker's side: one per attempt of a cell. */
export class OutputLogWriter {
  /** This attempt's token, recorded in the step's `ranOn.stream`. */
  readonly attempt = randomUUID();
  readonly #store: StepPromises;
  readonly #step: StepIdentity;
  #buffer: OutputChunk[] = [];
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Writes run one after another, in order. */
  #writing: Promise<void> = Promise.resolve();
  #lastFlush = 0;
  #failed = false;

  constructor(store: StepPromises, step: StepIdentity) {
    this.#store = store;
    this.#step = step;
  }

  push(chunk: OutputChunk): void {
    if (this.#failed) return;
    this.#buffer.push(chunk);
    if (this.#timer !== undefined) return;
    const interval = this.#next < FAST_BATCHES ? STREAM_INTERVAL_MS : SLOW_INTERVAL_MS;
    const wait = Math.max(0, this.#lastFlush + interval - Date.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  /** Writes what is buffered; resolves once every batch is in the store. */
  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#flush();
    await this.#writing;
  }

  #flush(): void {
    this.#timer = undefined;
    this.#lastFlush = Date.now();
    const chunks = this.#buffer.splice(0);
    if (chunks.length === 0 || this.#failed) return;
    this.#writing = this.#writing
      .then(async () => {
        for (const batch of batches(chunks)) await this.#append(batch);
      })
      .catch(() => {
        // Best effort: the record holds the whole output; the rest of the stream is dropped.
        this.#failed = true;
        this.#buffer = [];
      });
  }

  async #append(chunks: OutputChunk[]): Promise<void> {
    if (this.#failed) return;
    const data = String(codec.encode({ attempt: this.attempt, chunks }).data);
    for (;;) {
      const id = outputBatchId(this.#step.stepId, this.#next++);
      const record = await this.#store.promises.create(id, Number.MAX_SAFE_INTEGER, {
        data,
        tags: {
          "resonate:origin": this.#step.originId,
          "resonate:parent": this.#step.stepId,
          "capsule:kind": OUTPUT_KIND,
        },
      });
      // Taken by an earlier attempt of the cell: append after it.
      if (batchOf(record)?.attempt !== this.attempt) continue;
      if (record.state === "pending") await this.#store.promises.resolve(id, {});
      return;
    }
  }
}
