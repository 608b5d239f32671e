/**
 * Named durable sessions, usable outside a durable function (the CLI's `exec -s NAME`
 * and its REPL): `capsule.session(name).execute(code)`.
 *
 * Every call is its own durable execution, id `session/<name>/<n>` (n = 1, 2, …), tagged
 * `capsule:kind=session-cell`, `capsule:session=<name>`, `capsule:cell=<n>`, whose value is
 * the step record (result or user error, output, checkpoint). A cell runs on this
 * process's live session when it holds the previous cell's namespace, otherwise on a
 * pooled session restored from the latest recorded checkpoint, so a session continues
 * in a new process. Cells of one name run one at a time, in call order; a cell left
 * pending by a killed process is recovered (run to its end) before the next one starts.
 *
 * In local mode the store has one owner, so cell numbers cannot collide. In remote mode
 * two processes using the same name at the same moment could pick the same number: the
 * second then gets the first one's result (ids are idempotency keys). Use one process
 * per name there.
 */
import type { Network } from "@resonatehq/sdk";
import { type Context, Exponential, type Resonate } from "@resonatehq/sdk/async";
import { CapsuleError } from "../src/errors.ts";
import type {
  ExecutionResult,
  IntrospectAnswer,
  IntrospectRequest,
  Session,
  SessionCheckpoint,
  SessionPool,
} from "../src/session/index.ts";
import { type DurableExecuteOptions, runCell } from "./cell-runner.ts";
import { type DurableExecutionResult, resultFromRecord } from "./execution-result.ts";
import { decodeValue, getPromise, searchPromises } from "./promise-query.ts";
import { SessionScope } from "./session-scope.ts";
import {
  applyDelta,
  isStepRecord,
  type RecordedCheckpoint,
  type StepRecord,
} from "./step-record.ts";

export const CELL_FUNCTION = "capsule.cell";
export const SESSION_CELL_KIND = "session-cell";
const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,100}$/;
const CRASH_RETRY = { delay: 100, factor: 2, maxRetries: 3, maxDelay: 2_000 };

export function cellId(name: string, n: number): string {
  return `session/${name}/${n}`;
}

export function validateSessionName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new CapsuleError(
      "DURABLE_INVALID_NAME",
      `session name ${JSON.stringify(name)} must be 1-100 letters, digits, "_", "." or "-"`,
    );
  }
}

/** A named durable session; see the module comment. */
export interface NamedSession {
  readonly name: string;
  /** Pid (as the host sees it) of the worker behind the session, while one is live. */
  readonly workerPid: number | undefined;
  /** Runs `code` as the session's next durable cell. */
  execute(code: string, options?: DurableExecuteOptions): Promise<DurableExecutionResult>;
  /**
   * Runs `code` on the session's live namespace without recording it, in turn with the
   * cells: for tools that read the namespace (completion, inspection). The code must
   * change nothing; what it changes anyway is not recorded.
   */
  peek(code: string, options?: DurableExecuteOptions): Promise<ExecutionResult>;
  /**
   * Completion or inspection on the live namespace, without a cell (see
   * Session.introspect). With a live worker it does not wait for the cells in turn, so it
   * answers while one runs (between its awaits); without one (a new process) the
   * namespace is first restored from the record, in turn with the cells.
   */
  introspect(request: IntrospectRequest, timeoutMs?: number): Promise<IntrospectAnswer>;
}

interface CellArgs {
  timeoutMs?: number;
  mode?: DurableExecuteOptions["mode"];
}

export class NamedSessions {
  readonly #resonate: Resonate;
  readonly #send: Network["send"];
  /** The live session of each name; one scope for all, since named sessions never end. */
  readonly #sessions: SessionScope;
  readonly #beforeFirstCell: () => void;
  readonly #queues = new Map<string, Promise<unknown>>();
  /** Calls of each name queued or running (cells, peeks, restoring reads). */
  readonly #inFlight = new Map<string, number>();
  /** Next cell number of each name, once known (this process owns the numbering). */
  readonly #next = new Map<string, number>();
  /** Live options (output and input callbacks, signal) of cells this process started. */
  readonly #live = new Map<string, DurableExecuteOptions>();

  constructor(deps: {
    resonate: Resonate;
    send: Network["send"];
    pool: SessionPool;
    /** Called before a cell starts (opens recovery: a pending cell must finish first). */
    beforeFirstCell: () => void;
  }) {
    this.#resonate = deps.resonate;
    this.#send = deps.send;
    this.#sessions = new SessionScope(deps.pool);
    this.#beforeFirstCell = deps.beforeFirstCell;
    const cell = (ctx: Context, name: string, n: number, code: string, args: CellArgs) =>
      this.#runCell(ctx.id, name, n, code, args);
    this.#resonate.register(CELL_FUNCTION, cell);
  }

  session(name: string): NamedSession {
    validateSessionName(name);
    const sessions = this.#sessions;
    return {
      name,
      get workerPid() {
        return sessions.slot(name).pid;
      },
      execute: (code, options = {}) =>
        this.#enqueue(name, () => this.#execute(name, code, options)),
      peek: (code, options = {}) => this.#enqueue(name, () => this.#peek(name, code, options)),
      introspect: async (request, timeoutMs) => {
        const live = sessions.slot(name).live;
        if (live !== undefined) return live.introspect(request, timeoutMs);
        // A cell is being set up (its namespace restored): waiting in turn would wait for
        // the whole cell, so there is nothing to read yet.
        if ((this.#inFlight.get(name) ?? 0) > 0) {
          throw new CapsuleError(
            "INTROSPECT_TIMEOUT",
            `session ${name}: no live namespace to read while its cell starts`,
          );
        }
        return this.#enqueue(name, () =>
          this.#restoreThen(name, (session) => session.introspect(request, timeoutMs)),
        );
      },
    };
  }

  /** Gives every live session back to the pool. */
  releaseAll(): void {
    this.#sessions.releaseWhenIdle();
  }

  #enqueue<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#inFlight.set(name, (this.#inFlight.get(name) ?? 0) + 1);
    const turn = (this.#queues.get(name) ?? Promise.resolve()).then(work);
    const settled = turn.then(
      () => undefined,
      () => undefined,
    );
    void settled.then(() => this.#inFlight.set(name, (this.#inFlight.get(name) ?? 1) - 1));
    this.#queues.set(name, settled);
    return turn;
  }

  async #execute(
    name: string,
    code: string,
    options: DurableExecuteOptions,
  ): Promise<DurableExecutionResult> {
    this.#beforeFirstCell();
    const n = await this.#nextNumber(name);
    const id = cellId(name, n);
    const args: CellArgs = {
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.mode === undefined ? {} : { mode: options.mode }),
    };
    this.#live.set(id, options);
    try {
      const handle = await this.#resonate.run(
        id,
        CELL_FUNCTION,
        name,
        n,
        code,
        args,
        this.#resonate.options({
          tags: {
            "capsule:kind": SESSION_CELL_KIND,
            "capsule:session": name,
            "capsule:cell": String(n),
          },
          retryPolicy: new Exponential(CRASH_RETRY),
        }),
      );
      const record: unknown = await handle.result();
      this.#next.set(name, n + 1);
      if (!isStepRecord(record)) {
        throw new CapsuleError("STORE_CORRUPT", `cell ${id} does not hold an execute record`);
      }
      return resultFromRecord(record, false, undefined);
    } finally {
      this.#live.delete(id);
    }
  }

  #peek(name: string, code: string, options: DurableExecuteOptions): Promise<ExecutionResult> {
    return this.#restoreThen(name, (session) => session.execute(code, options));
  }

  /** Runs `read` on the session at its last recorded cell, restoring it if no worker holds it. */
  async #restoreThen<T>(name: string, read: (session: Session) => Promise<T>): Promise<T> {
    this.#beforeFirstCell();
    const n = await this.#nextNumber(name);
    const at = n > 1 ? cellId(name, n - 1) : "";
    return this.#sessions.slot(name).run(
      at,
      () => this.#latestCheckpoint(name, n - 1),
      // The slot stays at the last recorded cell: a read is not a cell.
      async (session) => ({ value: await read(session), at }),
    );
  }

  /** The number after the last recorded cell; waits for a cell still pending. */
  async #nextNumber(name: string): Promise<number> {
    const known = this.#next.get(name);
    if (known !== undefined) return known;
    const cells = await searchPromises(this.#send, {
      "capsule:kind": SESSION_CELL_KIND,
      "capsule:session": name,
    });
    let last: { n: number; id: string; pending: boolean } | undefined;
    for (const cell of cells) {
      const n = Number(cell.tags["capsule:cell"]);
      if (last === undefined || n > last.n) {
        last = { n, id: cell.id, pending: cell.state === "pending" };
      }
    }
    if (last?.pending === true) {
      // Interrupted by a crash: recovery finishes it; only its settlement matters here
      // (a failed cell is part of the session's history like any other).
      const handle = await this.#resonate.get(last.id);
      await handle.result().then(
        () => undefined,
        () => undefined,
      );
    }
    return (last?.n ?? 0) + 1;
  }

  async #runCell(
    id: string,
    name: string,
    n: number,
    code: string,
    args: CellArgs,
  ): Promise<StepRecord> {
    const slot = this.#sessions.slot(name);
    const previous = n > 1 ? cellId(name, n - 1) : "";
    const live = this.#live.get(id) ?? {};
    return slot.run(
      previous,
      () => this.#latestCheckpoint(name, n - 1),
      async (session) => {
        const record = await runCell(session, code, { ...live, ...args });
        return { value: record, at: id };
      },
      code,
    );
  }

  /**
   * The checkpoint after cell `n`: each record holds what its cell added, so the records
   * are read back to the last rebase and applied in order.
   */
  async #latestCheckpoint(name: string, n: number): Promise<SessionCheckpoint | undefined> {
    const deltas: RecordedCheckpoint[] = [];
    for (let k = n; k >= 1; k--) {
      const promise = await getPromise(this.#send, cellId(name, k));
      if (promise === undefined || promise.state !== "resolved") continue;
      const record = decodeValue(promise);
      if (!isStepRecord(record) || record.checkpoint === undefined) continue;
      deltas.push(record.checkpoint);
      if (record.checkpoint.rebase) break;
    }
    let checkpoint: SessionCheckpoint | undefined;
    for (const delta of deltas.reverse()) checkpoint = applyDelta(checkpoint, delta);
    return checkpoint;
  }
}
