/**
 * The outbox of a store whose message receivers are other processes (`capsule serve`):
 * every message the server sends (`execute` for invoke/resume, `unblock` for a listener)
 * is a row of `messages`, written in the same transaction as the change that produced
 * it (group commit: nothing is handed out before that transaction committed), and
 * deleted once it was delivered, so that a `kill -9` between the commit and the
 * delivery loses nothing: the next owner of the store loads the rows at open and
 * delivers them to the poller that connects for their address.
 *
 * As in Resonate's server (its outgoing table is keyed by task), a task has at most one
 * `execute` row, the latest: a newer one replaces it, and it goes once the task is no
 * longer pending (claimed, or settled) — an old invitation to acquire it is moot.
 * `unblock` rows stay until delivered, or until gc removes their promise (a listener
 * that never comes back must not keep them for ever). Delivery is at least once: a row delivered just
 * before a crash, whose deletion had not committed yet, is delivered again (the SDK
 * ignores an `execute` of a version it cannot acquire and an `unblock` of a promise it
 * no longer awaits).
 *
 * The in-process store does not use it: there the receiver dies with the store, and
 * recovery re-derives every `execute` from the tasks (recovery.ts).
 */
import type { StatementSync } from "node:sqlite";
import type { Message } from "@resonatehq/sdk";
import { StoreError } from "../../src/errors.ts";
import { integer, text } from "./schema.ts";
import type { ProtocolServer } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";
import type { TouchedObjects } from "./touched.ts";

/** A committed message row. */
export interface OutboxEntry {
  id: number;
  address: string;
  message: Message;
}

/** A message for the subscribers, and what tells the store it reached its receiver. */
export type MessageSubscriber = (message: Message, address: string, delivered: () => void) => void;

const NOT_KEPT = () => {};

/**
 * Hands each message of `batch` to every subscriber, in order; `deliveredOf` gives a
 * message's acknowledgment (none when messages are not kept). A throwing subscriber must
 * not lose the messages after the one it threw on: they go to `putBack`.
 */
export function deliverAll<E extends { address: string; message: Message }>(
  batch: E[],
  subscribers: readonly MessageSubscriber[],
  deliveredOf: ((entry: E) => () => void) | undefined,
  putBack: (rest: E[]) => void,
): void {
  for (const [index, entry] of batch.entries()) {
    const delivered = deliveredOf === undefined ? NOT_KEPT : deliveredOf(entry);
    try {
      for (const subscriber of subscribers) subscriber(entry.message, entry.address, delivered);
    } catch (error) {
      putBack(batch.slice(index + 1));
      throw error;
    }
  }
}

const taskOf = (message: Message): string | undefined =>
  message.kind === "execute" ? message.data.task.id : undefined;

export class Outbox {
  readonly #insert: StatementSync;
  readonly #deleteId: StatementSync;
  readonly #deleteTask: StatementSync;
  readonly #all: StatementSync;
  readonly #count: StatementSync;
  /** Rows written by the transaction in progress; ready once it committed. */
  #staged: OutboxEntry[] = [];
  /** Committed rows not yet handed to the subscribers. */
  #ready: OutboxEntry[] = [];
  /** Rows delivered (or given up), deleted by the next transaction. */
  #settled = new Set<number>();
  /** `#settled` as written by the transaction in progress. */
  #settling: number[] = [];

  constructor(database: StoreDatabase) {
    this.#insert = database.prepare(
      "INSERT INTO messages (address, subject, execute, body) VALUES (?, ?, ?, ?)",
    );
    this.#deleteId = database.prepare("DELETE FROM messages WHERE id = ?");
    this.#deleteTask = database.prepare("DELETE FROM messages WHERE subject = ? AND execute = 1");
    this.#all = database.prepare("SELECT id, address, body FROM messages ORDER BY id");
    this.#all.setReadBigInts(true);
    this.#count = database.prepare("SELECT count(*) AS n FROM messages");
    this.#count.setReadBigInts(true);
  }

  /** Reads the rows a previous owner left (at open, after the server was rebuilt). */
  load(server: ProtocolServer): void {
    for (const row of this.#all.all() as Record<string, unknown>[]) {
      const id = integer(row, "id");
      let message: Message;
      try {
        message = JSON.parse(text(row, "body")) as Message;
      } catch (error) {
        throw new StoreError("STORE_CORRUPT", `message ${id} is not JSON`, { cause: error });
      }
      const task = taskOf(message);
      if (task !== undefined && server.tasks.get(task)?.state !== "pending") this.#settled.add(id);
      else this.#ready.push({ id, address: text(row, "address"), message });
    }
  }

  /** Whether the next transaction has something to write even if no object changed. */
  hasWork(touched: TouchedObjects): boolean {
    return touched.messages.length > 0 || this.#settled.size > 0;
  }

  /** Inside the store's transaction: writes what `touched` sent, deletes what is done. */
  write(server: ProtocolServer, touched: TouchedObjects): void {
    for (const { address, message } of touched.messages) {
      const task = taskOf(message);
      if (task !== undefined) {
        this.#supersede(task);
        // Claimed (or settled) in the same group: nobody may acquire it any more.
        if (server.tasks.get(task)?.state !== "pending") continue;
      }
      const subject = task ?? (message.kind === "unblock" ? message.data.promise.id : "");
      const { lastInsertRowid } = this.#insert.run(
        address,
        subject,
        task === undefined ? 0 : 1,
        JSON.stringify(message),
      );
      this.#staged.push({ id: Number(lastInsertRowid), address, message });
    }
    for (const task of touched.tasks) {
      if (server.tasks.get(task)?.state !== "pending") this.#supersede(task);
    }
    this.#settling = [...this.#settled];
    for (const id of this.#settling) this.#deleteId.run(id);
  }

  /** After the transaction of `write` committed: its rows may be handed out. */
  committed(): void {
    for (const id of this.#settling) this.#settled.delete(id);
    this.#settling = [];
    this.#ready.push(...this.#staged);
    this.#staged = [];
  }

  /** Committed rows to hand out now, in order. */
  take(): OutboxEntry[] {
    return this.#ready.splice(0);
  }

  /** Puts back rows `take` returned that were not handed out. */
  putBack(entries: readonly OutboxEntry[]): void {
    this.#ready.unshift(...entries);
  }

  /** The row was delivered (or can never be): it goes with the next transaction. */
  settle(id: number): void {
    this.#settled.add(id);
  }

  /** Rows in the table (committed, not yet deleted). */
  count(): number {
    const row = this.#count.get() as Record<string, unknown> | undefined;
    return row === undefined ? 0 : integer(row, "n");
  }

  /** Forgets everything in memory (`debug.reset`, which also empties the table). */
  clear(): void {
    this.#staged = [];
    this.#ready = [];
    this.#settled.clear();
    this.#settling = [];
  }

  #supersede(task: string): void {
    this.#deleteTask.run(task);
    const other = (entry: OutboxEntry) => taskOf(entry.message) !== task;
    this.#staged = this.#staged.filter(other);
    if (this.#ready.length > 0) this.#ready = this.#ready.filter(other);
  }
}
