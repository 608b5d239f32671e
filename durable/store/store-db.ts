/**
 * The SQLite file behind the embedded store: schema, the one-transaction write of the
 * objects an apply touched (each transaction also counted in the generation, see
 * generation.ts), the rebuild of a server's live state on open, reads by id and by
 * filter of everything else, and deletion for gc.
 *
 * Durability (WAL journal in both levels, see `Durability`): `process` runs
 * `synchronous=NORMAL`: a commit is in the kernel's page cache before the response it
 * backs is returned, so any crash of the process (`kill -9`) loses nothing; the disk is
 * synced only when the WAL is checkpointed into store.db (here, explicitly: when the WAL
 * passes `CHECKPOINT_WAL_BYTES`, on `syncToDisk()` and at close), so a power loss may
 * drop the commits since. `machine` runs `synchronous=FULL`: each commit fsyncs the WAL.
 * Either way SQLite never exposes a half-written transaction, and the generation check
 * (generation.ts) claims after a reboot only what was synced.
 *
 * Ownership: the connection runs in `locking_mode=EXCLUSIVE` and takes the exclusive
 * lock at open; the kernel drops that lock when the process dies, so a lock can never be
 * stale (see ownership.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { StoreError } from "../../src/errors.ts";
import {
  checkGeneration,
  currentBootId,
  type Generation,
  GenerationFile,
  newStoreId,
} from "./generation.ts";
import {
  decodePromise,
  decodeSchedule,
  decodeTask,
  encodePromise,
  encodeSchedule,
  encodeTask,
} from "./records.ts";
import {
  installedSdkVersion,
  type ProtocolServer,
  type ServerPromise,
  type ServerTask,
} from "./sdk.ts";
import { StoredMap } from "./stored-map.ts";
import type { TouchedObjects } from "./touched.ts";

/**
 * What an acknowledged commit survives. `process`: any crash of the process (the data
 * is with the kernel); a power loss or kernel crash may drop the commits since the last
 * checkpoint, which only makes their steps run again. `machine`: also a power loss, at
 * one fsync per commit.
 */
export type Durability = "process" | "machine";

export interface StoreDatabaseOptions {
  durability: Durability;
  /** Upper bound of the file size (SQLite `max_page_count`); unbounded when undefined. */
  maxSizeBytes?: number | undefined;
  /** The machine's current boot (generation.ts); default read from the OS. Tests pass another to simulate a reboot. */
  bootId?: string | undefined;
}

/** How many transactions were committed and how many times the disk was synced. */
export interface WriteCounters {
  /** Transactions committed (each one fsync of the WAL with `machine`). */
  commits: number;
  /** Checkpoints of the WAL into store.db (each syncs the WAL and store.db). */
  checkpoints: number;
}

// `process` checkpoints once the WAL holds this much (SQLite's own default is 1000
// pages, ~4 MiB): bounds both the WAL and what a power loss can drop.
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;

const SCHEMA_VERSION = "1";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promises (
  id TEXT PRIMARY KEY, origin TEXT NOT NULL, state TEXT NOT NULL, settled_at INTEGER, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS promises_by_origin ON promises (origin);
CREATE INDEX IF NOT EXISTS promises_by_state ON promises (state);
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promise_timeouts (id TEXT PRIMARY KEY, timeout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS task_timeouts (id TEXT PRIMARY KEY, type INTEGER NOT NULL, timeout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedule_timeouts (id TEXT PRIMARY KEY, timeout INTEGER NOT NULL);
`;

/** The lineage a promise belongs to: its root's id (the SDK's `resonate:origin` tag). */
export function originOf(promise: { id: string; tags: Record<string, string> }): string {
  return promise.tags["resonate:origin"] ?? promise.id;
}

interface Statements {
  putPromise: StatementSync;
  delPromise: StatementSync;
  putTask: StatementSync;
  delTask: StatementSync;
  putSchedule: StatementSync;
  delSchedule: StatementSync;
  putPromiseTimeout: StatementSync;
  delPromiseTimeout: StatementSync;
  putTaskTimeout: StatementSync;
  delTaskTimeout: StatementSync;
  putScheduleTimeout: StatementSync;
  delScheduleTimeout: StatementSync;
}

function prepareStatements(db: DatabaseSync): Statements {
  return {
    putPromise: db.prepare(
      "INSERT OR REPLACE INTO promises (id, origin, state, settled_at, body) VALUES (?, ?, ?, ?, ?)",
    ),
    delPromise: db.prepare("DELETE FROM promises WHERE id = ?"),
    putTask: db.prepare("INSERT OR REPLACE INTO tasks (id, state, body) VALUES (?, ?, ?)"),
    delTask: db.prepare("DELETE FROM tasks WHERE id = ?"),
    putSchedule: db.prepare("INSERT OR REPLACE INTO schedules (id, body) VALUES (?, ?)"),
    delSchedule: db.prepare("DELETE FROM schedules WHERE id = ?"),
    putPromiseTimeout: db.prepare(
      "INSERT OR REPLACE INTO promise_timeouts (id, timeout) VALUES (?, ?)",
    ),
    delPromiseTimeout: db.prepare("DELETE FROM promise_timeouts WHERE id = ?"),
    putTaskTimeout: db.prepare(
      "INSERT OR REPLACE INTO task_timeouts (id, type, timeout) VALUES (?, ?, ?)",
    ),
    delTaskTimeout: db.prepare("DELETE FROM task_timeouts WHERE id = ?"),
    putScheduleTimeout: db.prepare(
      "INSERT OR REPLACE INTO schedule_timeouts (id, timeout) VALUES (?, ?)",
    ),
    delScheduleTimeout: db.prepare("DELETE FROM schedule_timeouts WHERE id = ?"),
  };
}

/**
 * Rows of `sql`. INTEGER values come back as bigint: a deadline past 2^53 ms (e.g. the
 * SDK's `ttl: Number.MAX_SAFE_INTEGER` added to now) is an integral double that SQLite
 * stores as a 64-bit INTEGER, which node:sqlite refuses to read as a number.
 */
function rows(db: DatabaseSync, sql: string): Record<string, unknown>[] {
  const statement = db.prepare(sql);
  statement.setReadBigInts(true);
  return statement.all() as Record<string, unknown>[];
}

function text(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (typeof value !== "string")
    throw new StoreError("STORE_CORRUPT", `column ${column} is not text`);
  return value;
}

/**
 * A numeric column as the JS number the server held. Exact: every value was written
 * from a double, and a double stored as INTEGER (only when integral and lossless) goes
 * back to the same double; other doubles are stored, and read, as REAL.
 */
function integer(row: Record<string, unknown>, column: string): number {
  const value = row[column];
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "number")
    throw new StoreError("STORE_CORRUPT", `column ${column} is not a number`);
  return value;
}

export class StoreDatabase {
  readonly file: string;
  private readonly db: DatabaseSync;
  private readonly statements: Statements;
  private readonly sidecar: GenerationFile;
  /** The store's id and committed transactions, as in `meta` (see generation.ts). */
  private generation: Generation = { storeId: "", count: 0 };
  /** Commits of `generation` known to be on the disk. */
  private durableCount = 0;
  private readonly durability: Durability;
  private readonly bootId: string;
  private readonly walFile: string;
  private readonly counters: WriteCounters = { commits: 0, checkpoints: 0 };
  private readonly bumpGeneration: StatementSync;

  private constructor(
    file: string,
    db: DatabaseSync,
    sidecar: GenerationFile,
    durability: Durability,
    bootId: string,
  ) {
    this.file = file;
    this.walFile = `${file}-wal`;
    this.db = db;
    this.statements = prepareStatements(db);
    this.sidecar = sidecar;
    this.durability = durability;
    this.bootId = bootId;
    this.bumpGeneration = db.prepare(
      "INSERT OR REPLACE INTO meta (key, value) VALUES ('generation', ?)",
    );
  }

  /**
   * Opens (creating if needed) the store file and takes its exclusive lock. Throws the
   * SQLite "database is locked" error untouched when another connection owns it; the
   * caller turns that into StoreLockedError.
   */
  static open(
    file: string,
    { durability, maxSizeBytes, bootId = currentBootId() }: StoreDatabaseOptions,
  ): StoreDatabase {
    // Before SQLite touches the files: a store that lost commits must stay as it is.
    const durableAtOpen = checkGeneration(path.dirname(file), file, bootId);
    // timeout 0: a second owner must fail at once, not wait for the first to exit.
    const db = new DatabaseSync(file, { timeout: 0 });
    let sidecar: GenerationFile | undefined;
    try {
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${durability === "machine" ? "FULL" : "NORMAL"}`);
      // `process` checkpoints itself, so that it knows what is on the disk.
      if (durability === "process") db.exec("PRAGMA wal_autocheckpoint = 0");
      if (maxSizeBytes !== undefined) {
        const pageSize = Number(
          Reflect.get(db.prepare("PRAGMA page_size").get() ?? {}, "page_size"),
        );
        db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(maxSizeBytes / pageSize))}`);
      }
      // The first write takes the exclusive lock, held until close (EXCLUSIVE mode).
      db.exec("BEGIN EXCLUSIVE");
      db.exec(SCHEMA);
      db.exec("COMMIT");
      sidecar = GenerationFile.open(path.dirname(file));
      const store = new StoreDatabase(file, db, sidecar, durability, bootId);
      store.checkMeta(durableAtOpen);
      return store;
    } catch (error) {
      sidecar?.close();
      db.close();
      throw error;
    }
  }

  private checkMeta(durableAtOpen: number): void {
    const meta = new Map(
      rows(this.db, "SELECT key, value FROM meta").map((row) => [
        text(row, "key"),
        text(row, "value"),
      ]),
    );
    const schema = meta.get("schema_version");
    if (schema !== undefined && schema !== SCHEMA_VERSION) {
      throw new StoreError(
        "STORE_CORRUPT",
        `${this.file} has schema ${schema}, expected ${SCHEMA_VERSION}`,
      );
    }
    const count = Number(meta.get("generation") ?? "0");
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new StoreError("STORE_CORRUPT", `${this.file} has a malformed generation`);
    }
    this.generation = { storeId: meta.get("store_id") ?? newStoreId(), count };
    // What the previous owner synced; the rest may be only in the page cache.
    this.durableCount = Math.min(durableAtOpen, count);
    const put = this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    // A transaction of its own: the sidecar now exists and names this store.
    this.transaction(() => {
      put.run("schema_version", SCHEMA_VERSION);
      put.run("sdk_version", installedSdkVersion);
      put.run("store_id", this.generation.storeId);
    });
  }

  /** Writes the current server state of every touched object in one transaction. */
  persist(server: ProtocolServer, touched: TouchedObjects): void {
    const s = this.statements;
    this.transaction(() => {
      for (const id of touched.promises) {
        const promise = server.promises.get(id);
        if (promise === undefined) s.delPromise.run(id);
        else
          s.putPromise.run(
            id,
            originOf(promise),
            promise.state,
            promise.settledAt,
            encodePromise(promise),
          );
      }
      for (const id of touched.tasks) {
        const task = server.tasks.get(id);
        if (task === undefined) s.delTask.run(id);
        else s.putTask.run(id, task.state, encodeTask(task));
      }
      for (const id of touched.schedules) {
        const schedule = server.schedules.get(id);
        if (schedule === undefined) s.delSchedule.run(id);
        else s.putSchedule.run(id, encodeSchedule(schedule));
      }
      for (const id of touched.promiseTimeouts) {
        const timeout = server.pTimeouts.find((entry) => entry.id === id);
        if (timeout === undefined) s.delPromiseTimeout.run(id);
        else s.putPromiseTimeout.run(id, timeout.timeout);
      }
      for (const id of touched.taskTimeouts) {
        const timeout = server.tTimeouts.find((entry) => entry.id === id);
        if (timeout === undefined) s.delTaskTimeout.run(id);
        else s.putTaskTimeout.run(id, timeout.type, timeout.timeout);
      }
      for (const id of touched.scheduleTimeouts) {
        const timeout = server.sTimeouts.find((entry) => entry.id === id);
        if (timeout === undefined) s.delScheduleTimeout.run(id);
        else s.putScheduleTimeout.run(id, timeout.timeout);
      }
    });
  }

  /**
   * Fills an empty server with what is live: pending promises, unfinished tasks, every
   * schedule and timeout. Everything else is loaded by id when the server asks for it
   * (stored-map.ts), so open costs the live work, not the history.
   */
  loadLive(server: ProtocolServer): void {
    const promiseById = this.db.prepare("SELECT body FROM promises WHERE id = ?");
    const taskById = this.db.prepare("SELECT body FROM tasks WHERE id = ?");
    const promises = new StoredMap<ServerPromise>((id) => {
      const row = promiseById.get(id) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : decodePromise(id, text(row, "body"));
    });
    const tasks = new StoredMap<ServerTask>((id) => {
      const row = taskById.get(id) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : decodeTask(id, text(row, "body"));
    });
    server.promises = promises;
    server.tasks = tasks;
    for (const row of rows(this.db, "SELECT id, body FROM promises WHERE state = 'pending'")) {
      const id = text(row, "id");
      promises.set(id, decodePromise(id, text(row, "body")));
    }
    for (const row of rows(this.db, "SELECT id, body FROM tasks WHERE state <> 'fulfilled'")) {
      const id = text(row, "id");
      tasks.set(id, decodeTask(id, text(row, "body")));
    }
    for (const row of rows(this.db, "SELECT id, body FROM schedules")) {
      const id = text(row, "id");
      server.schedules.set(id, decodeSchedule(id, text(row, "body")));
    }
    for (const row of rows(this.db, "SELECT id, timeout FROM promise_timeouts")) {
      server.pTimeouts.push({ id: text(row, "id"), timeout: integer(row, "timeout") });
    }
    for (const row of rows(this.db, "SELECT id, type, timeout FROM task_timeouts")) {
      const type = integer(row, "type");
      if (type !== 0 && type !== 1)
        throw new StoreError("STORE_CORRUPT", `task timeout type ${type}`);
      server.tTimeouts.push({ id: text(row, "id"), type, timeout: integer(row, "timeout") });
    }
    for (const row of rows(this.db, "SELECT id, timeout FROM schedule_timeouts")) {
      server.sTimeouts.push({ id: text(row, "id"), timeout: integer(row, "timeout") });
    }
    this.checkReferences(server);
  }

  // The server throws "invariant violation" on a task without its promise; refuse such a
  // file at open rather than crash later in the middle of a tick. (Live tasks only: a
  // fulfilled task's promise is settled and never looked up by a tick.)
  private checkReferences(server: ProtocolServer): void {
    for (const id of server.tasks.keys()) {
      if (!server.promises.has(id))
        throw new StoreError("STORE_CORRUPT", `task ${id} has no promise`);
    }
    for (const timeout of server.tTimeouts) {
      if (!server.tasks.has(timeout.id)) {
        throw new StoreError("STORE_CORRUPT", `task timeout ${timeout.id} has no task`);
      }
    }
  }

  /**
   * Every stored promise in `state` (any when undefined) whose origin is `origin` (any
   * when undefined), for searches: the server's map holds only what is loaded.
   */
  promisesWhere(filter: {
    state?: string | undefined;
    origin?: string | undefined;
  }): ServerPromise[] {
    const clauses: string[] = [];
    const values: string[] = [];
    if (filter.state !== undefined) {
      clauses.push("state = ?");
      values.push(filter.state);
    }
    if (filter.origin !== undefined) {
      clauses.push("origin = ?");
      values.push(filter.origin);
    }
    const where = clauses.length === 0 ? "" : ` WHERE ${clauses.join(" AND ")}`;
    return (
      this.db.prepare(`SELECT id, body FROM promises${where}`).all(...values) as Record<
        string,
        unknown
      >[]
    ).map((row) => decodePromise(text(row, "id"), text(row, "body")));
  }

  /** Every stored task in `state` (any when undefined), for searches. */
  tasksWhere(state: string | undefined): ServerTask[] {
    const found = (
      state === undefined
        ? this.db.prepare("SELECT id, body FROM tasks").all()
        : this.db.prepare("SELECT id, body FROM tasks WHERE state = ?").all(state)
    ) as Record<string, unknown>[];
    return found.map((row) => decodeTask(text(row, "id"), text(row, "body")));
  }

  /** How many promises, tasks and schedules the file holds. */
  counts(): { promises: number; tasks: number; schedules: number } {
    const count = (table: string) =>
      integer(this.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() ?? {}, "n");
    return { promises: count("promises"), tasks: count("tasks"), schedules: count("schedules") };
  }

  /** Ids of settled root promises whose settlement is older than `before` (ms epoch). */
  settledRootsBefore(before: number): string[] {
    return this.db
      .prepare(
        "SELECT id FROM promises WHERE id = origin AND state <> 'pending' AND settled_at < ? ORDER BY settled_at",
      )
      .all(before)
      .map((row) => text(row as Record<string, unknown>, "id"));
  }

  /** Ids of every promise in a lineage, the root included. */
  lineage(rootId: string): string[] {
    return this.db
      .prepare("SELECT id FROM promises WHERE origin = ?")
      .all(rootId)
      .map((row) => text(row as Record<string, unknown>, "id"));
  }

  /** Deletes promises, their tasks and any timeouts for them, in one transaction. */
  deletePromises(ids: readonly string[]): void {
    const s = this.statements;
    this.transaction(() => {
      for (const id of ids) {
        s.delPromise.run(id);
        s.delTask.run(id);
        s.delPromiseTimeout.run(id);
        s.delTaskTimeout.run(id);
      }
    });
  }

  /** Removes everything (the SDK's `debug.reset`). */
  clear(): void {
    this.transaction(() => {
      for (const table of [
        "promises",
        "tasks",
        "schedules",
        "promise_timeouts",
        "task_timeouts",
        "schedule_timeouts",
      ]) {
        this.db.exec(`DELETE FROM ${table}`);
      }
    });
  }

  /**
   * Runs `body` in one transaction that also counts itself in the generation, then
   * records the new generation in the sidecar (after the commit: see generation.ts).
   */
  private transaction(body: () => void): void {
    this.db.exec("BEGIN IMMEDIATE");
    const next = { ...this.generation, count: this.generation.count + 1 };
    try {
      body();
      this.bumpGeneration.run(String(next.count));
      this.db.exec("COMMIT");
    } catch (error) {
      if (!this.db.isOpen || !this.db.isTransaction) throw error;
      try {
        this.db.exec("ROLLBACK");
      } catch (rollbackError) {
        throw new AggregateError([error, rollbackError], "store write and its rollback failed");
      }
      throw error;
    }
    this.generation = next;
    this.counters.commits += 1;
    if (this.durability === "machine") this.durableCount = next.count;
    else if (
      (fs.statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0) >= CHECKPOINT_WAL_BYTES
    )
      this.checkpoint();
    this.writeSidecar();
  }

  /**
   * Makes every commit so far survive a power loss (`process`: checkpoints the WAL into
   * store.db, syncing both; `machine`: already so). The store calls it on its tick and
   * at close.
   */
  syncToDisk(): void {
    if (this.durableCount === this.generation.count) return;
    this.checkpoint();
    this.writeSidecar();
  }

  private checkpoint(): void {
    const result = this.db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as
      | Record<string, unknown>
      | undefined;
    this.counters.checkpoints += 1;
    // busy = 1: a reader held it back (never the case with one exclusive connection).
    if (result?.busy === 0) this.durableCount = this.generation.count;
  }

  private writeSidecar(): void {
    this.sidecar.write({ ...this.generation, durable: this.durableCount, bootId: this.bootId });
  }

  /** Transactions committed and disk syncs since open, for tests and benchmarks. */
  writeCounters(): WriteCounters {
    return { ...this.counters };
  }

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  close(): void {
    if (!this.db.isOpen) return;
    this.db.close();
    this.sidecar.close();
  }
}
