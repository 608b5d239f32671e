/**
 * Durable human input: inside a durable execute, `input(prompt)` is a durable promise, so
 * a question to a human survives any crash and waits as long as it takes.
 *
 * The question asked by input call k of step S (k counts the cell's `input()` calls from
 * 0, in call order) is the promise `S.input-k`, tagged `capsule:kind=input`,
 * `capsule:session`, `capsule:execution` (and `resonate:origin`, `resonate:parent`); its
 * param is the JSON `{ prompt, session, execution }`; its value, once answered, is the
 * answer as the SDK encodes values (base64 of JSON, here a JSON string), so any Resonate
 * client can answer it with `promises.resolve(id, …)`.
 *
 * With `onInput` the caller answers at once (and that answer is recorded); without, the
 * cell waits until someone answers — `capsule.answer`, the CLI, any Resonate client. The
 * process may exit meanwhile: on restart the cell runs again from its checkpoint, reaches
 * the same `input()`, and gets the recorded answer. The first answer wins.
 */
import { Codec, type PromiseRecord } from "@resonatehq/sdk";
import { InputError } from "../src/errors.ts";
import type { StepIdentity, StepPromises } from "./capability-steps.ts";
import { RemoteCellWatch } from "./groups/remote-watch.ts";
import { decodeValue, getPromise, searchPromises } from "./promise-query.ts";

/** Tag value (`capsule:kind`) of a durable question. */
export const INPUT_KIND = "input";

/** The longest pause between two looks at a question's promise while a cell waits. */
const MAX_POLL_MS = 1_000;
const codec = new Codec();

/** The id of input call `index` of step `stepId`. */
export function inputPromiseId(stepId: string, index: number): string {
  return `${stepId}.input-${index}`;
}

/** A question waiting for its answer. */
export interface PendingInput {
  /** The durable promise id to answer (`capsule answer <id> <value>`). */
  id: string;
  prompt: string;
  /** The durable execution that asks. */
  execution: string;
  /** The durable session whose cell asks. */
  session: string;
  /** When it was asked, ms since the epoch. */
  createdAt: number;
}

/** Where a cell's questions go: its step, session and how the caller answers. */
export interface AskerOptions extends StepIdentity {
  session: string;
  /** The caller's own answerer: used at once, its answer recorded. */
  onInput?: ((prompt: string) => string | Promise<string>) | undefined;
  /** Rejects a question unanswered this long with INPUT_TIMEOUT. Default: waits for ever. */
  timeoutMs?: number | undefined;
  /** Aborted when the cell's attempt ends: stops waiting. */
  signal: AbortSignal;
}

export class HumanInputs {
  readonly store: StepPromises;
  /** Output and questions of this process's remote cells, while they run (groups/). */
  readonly remoteCells: RemoteCellWatch;
  /** Cells of this process waiting on a question, woken at once by a local `answer`. */
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(store: StepPromises) {
    this.store = store;
    this.remoteCells = new RemoteCellWatch(store.send, {
      id: inputPromiseId,
      answer: (id, value) => this.answer(id, value),
    });
  }

  /** Stops watching remote cells (Capsule closes). */
  close(): void {
    this.remoteCells.close();
  }

  /** The `onInput` of one attempt of a durable cell: each call is the next question. */
  asker(options: AskerOptions): (prompt: string) => Promise<string> {
    let calls = 0;
    return (prompt) => this.#ask(inputPromiseId(options.stepId, calls++), prompt, options);
  }

  /** Every question still waiting for an answer, oldest first. */
  async list(): Promise<PendingInput[]> {
    const records = await searchPromises(this.store.send, { "capsule:kind": INPUT_KIND });
    return records
      .filter((record) => record.state === "pending")
      .map((record) => {
        const param = questionOf(record);
        return {
          id: record.id,
          prompt: param.prompt,
          execution: param.execution,
          session: param.session,
          createdAt: record.createdAt,
        };
      });
  }

  /**
   * Answers question `id`.
   * @throws InputError INPUT_NOT_PENDING when `id` is no question, or one that timed
   *   out; INPUT_ALREADY_ANSWERED when it has an answer (the first answer stands).
   */
  async answer(id: string, value: string): Promise<void> {
    const record = await getPromise(this.store.send, id);
    if (record === undefined || record.tags["capsule:kind"] !== INPUT_KIND) {
      throw new InputError("INPUT_NOT_PENDING", `${id} is not a pending input (no such question)`);
    }
    if (record.state === "resolved") {
      throw new InputError(
        "INPUT_ALREADY_ANSWERED",
        `input ${id} was already answered (${JSON.stringify(answerOf(record))}); the first answer stands`,
      );
    }
    if (record.state !== "pending") {
      throw new InputError("INPUT_NOT_PENDING", `input ${id} is not pending (${record.state})`);
    }
    const encoded = codec.encode(value);
    const settled = await this.store.promises.resolve(id, {
      headers: encoded.headers ?? {},
      data: String(encoded.data),
    });
    if (settled.state !== "resolved" || answerOf(settled) !== value) {
      throw new InputError(
        "INPUT_ALREADY_ANSWERED",
        `input ${id} was answered by someone else first; the first answer stands`,
      );
    }
    for (const wake of this.#waiters.get(id) ?? []) wake();
  }

  async #ask(id: string, prompt: string, options: AskerOptions): Promise<string> {
    const record = await this.store.promises.create(
      id,
      options.timeoutMs === undefined ? Number.MAX_SAFE_INTEGER : Date.now() + options.timeoutMs,
      {
        data: String(
          codec.encode({ prompt, session: options.session, execution: options.originId }).data,
        ),
        tags: {
          "resonate:origin": options.originId,
          "resonate:parent": options.stepId,
          "capsule:kind": INPUT_KIND,
          "capsule:session": options.session,
          "capsule:execution": options.originId,
        },
      },
    );
    if (record.state !== "pending" || options.onInput === undefined) {
      return settledAnswer(await this.#waitSettled(record, options.signal));
    }
    const mine = String(await options.onInput(prompt));
    const encoded = codec.encode(mine);
    // Idempotent: when another answer came first, the settle returns that one.
    const settled = await this.store.promises.resolve(id, {
      headers: encoded.headers ?? {},
      data: String(encoded.data),
    });
    return settledAnswer(settled);
  }

  /** Looks at the promise until it settles: backing off, woken by a local answer. */
  async #waitSettled(first: PromiseRecord, signal: AbortSignal): Promise<PromiseRecord> {
    let record: PromiseRecord | undefined = first;
    let delay = 25;
    while (record === undefined || record.state === "pending") {
      if (signal.aborted) throw new Error("input abandoned: the cell ended");
      const untilTimeout = (record?.timeoutAt ?? Number.MAX_SAFE_INTEGER) - Date.now();
      await this.#pause(first.id, Math.max(1, Math.min(delay, untilTimeout + 1)), signal);
      delay = Math.min(delay * 2, MAX_POLL_MS);
      record = await getPromise(this.store.send, first.id);
    }
    return record;
  }

  #pause(id: string, ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(id);
      if (waiters === undefined) {
        waiters = new Set();
        this.#waiters.set(id, waiters);
      }
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        waiters.delete(wake);
        if (waiters.size === 0) this.#waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}

function settledAnswer(record: PromiseRecord): string {
  if (record.state === "resolved") return answerOf(record);
  if (record.state === "rejected_timedout") {
    throw new InputError(
      "INPUT_TIMEOUT",
      `[INPUT_TIMEOUT] no answer to input ${record.id} in time`,
    );
  }
  throw new InputError("INPUT_NOT_PENDING", `input ${record.id} was ${record.state}`);
}

function answerOf(record: PromiseRecord): string {
  const value: unknown = decodeValue(record);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function questionOf(record: PromiseRecord): { prompt: string; session: string; execution: string } {
  const param: unknown = decodeValue(record, "param");
  const fields = (typeof param === "object" && param !== null ? param : {}) as Record<
    string,
    unknown
  >;
  const text = (key: string, fallback: string) =>
    typeof fields[key] === "string" ? fields[key] : fallback;
  return {
    prompt: text("prompt", ""),
    session: text("session", record.tags["capsule:session"] ?? ""),
    execution: text("execution", record.tags["capsule:execution"] ?? ""),
  };
}
