/**
 * The SQLite file behind the embedded store: open (pragmas, lock, schema check), the
 * one-transaction write of the objects an apply touched (each transaction also counted
 * in the generation, see generation.ts), deletion for gc, and the syncs to the disk.
 * Tables and statements are in schema.ts, every read in store-reads.ts.
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
import { encodePromise, encodeSchedule, encodeTask } from "./records.ts";
import {
  originOf,
  prepareStatements,
  rows,
  SCHEMA,
  SCHEMA_VERSION,
  type Statements,
  text,
} from "./schema.ts";
import {
  installedSdkVersion,
  type ProtocolServer,
  type ServerPromise,
  type ServerTask,
} from "./sdk.ts";
import {
  counts,
  lineage,
  loadLive,
  promisesWhere,
  settledRootsBefore,
  tasksWhere,
} from "./store-reads.ts";
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
//
// A checkpoint restarts the WAL rather than truncating it: the next commits overwrite
// the file from its start, where appending to a file emptied by each checkpoint cost
// the filesystem a block allocation per write and the checkpoint a truncation and its
// sync (measured: a checkpoint 9.5 -> 5.9 ms, a commit 23 -> 19 µs). So the file's size
// no longer says how full the WAL is; `journal_size_limit` makes it say when it is
// over this size: the first commit after a restart cuts the file back to the limit
// (when longer), so the file grows past the limit only once the WAL holds more.
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;
// The WAL's size is looked at every this many commits, not each (a stat per step).
const WAL_SIZE_CHECK_COMMITS = 16;

// A commit appends every page it changed to the WAL: the row's table leaf, its primary
// key and two index leaves, the generation's page. With 1 KiB pages instead of SQLite's
// 4 KiB, a one-step commit writes ~11 KiB instead of ~37 KiB (measured), and the WAL is
// checkpointed ~3x less often. Only a new file takes it; an existing one keeps its own.
const PAGE_SIZE = 1024;

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
    // An UPDATE changes the row's page only; a REPLACE also rewrote the key's index page
    // (one more WAL page per commit, ~8 µs). `checkMeta` makes sure the row exists.
    this.bumpGeneration = db.prepare("UPDATE meta SET value = ? WHERE key = 'generation'");
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
      db.exec(`PRAGMA page_size = ${PAGE_SIZE}`);
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${durability === "machine" ? "FULL" : "NORMAL"}`);
      // `process` checkpoints itself, so that it knows what is on the disk.
      if (durability === "process") db.exec("PRAGMA wal_autocheckpoint = 0");
      db.exec(`PRAGMA journal_size_limit = ${CHECKPOINT_WAL_BYTES}`);
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
      put.run("generation", String(count));
    });
  }

  /**
   * Writes the current server state of every touched object in one transaction, with
   * what `alsoWrite` writes (the outbox's messages, outbox.ts) in the same one.
   */
  persist(server: ProtocolServer, touched: TouchedObjects, alsoWrite?: () => void): void {
    const s = this.statements;
    this.transaction(() => {
      alsoWrite?.();
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

  /** A statement on the store's connection, for the outbox's table (outbox.ts). */
  prepare(sql: string): StatementSync {
    return this.db.prepare(sql);
  }

  /** See store-reads.ts. */
  loadLive(server: ProtocolServer): void {
    loadLive(this.db, server);
  }

  promisesWhere(filter: {
    state?: string | undefined;
    origin?: string | undefined;
  }): ServerPromise[] {
    return promisesWhere(this.db, filter);
  }

  tasksWhere(state: string | undefined): ServerTask[] {
    return tasksWhere(this.db, state);
  }

  counts(): { promises: number; tasks: number; schedules: number } {
    return counts(this.db);
  }

  settledRootsBefore(before: number): string[] {
    return settledRootsBefore(this.db, before);
  }

  lineage(rootId: string): string[] {
    return lineage(this.db, rootId);
  }

  /** Deletes promises, their tasks, timeouts and unsent messages, in one transaction. */
  deletePromises(ids: readonly string[]): void {
    const s = this.statements;
    this.transaction(() => {
      for (const id of ids) {
        s.delPromise.run(id);
        s.delTask.run(id);
        s.delPromiseTimeout.run(id);
        s.delTaskTimeout.run(id);
        s.delPromiseMessages.run(id);
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
        "messages",
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
      this.counters.commits % WAL_SIZE_CHECK_COMMITS === 0 &&
      (fs.statSync(this.walFile, { throwIfNoEntry: false })?.size ?? 0) > CHECKPOINT_WAL_BYTES
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
    // Copies every frame into store.db and syncs it; the next commit restarts the WAL.
    const result = this.db.prepare("PRAGMA wal_checkpoint(RESTART)").get() as
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
