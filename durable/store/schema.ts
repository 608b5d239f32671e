/**
 * The store file's tables, the statements that write them, and how a row's columns are
 * read back (every reader of the file goes through `rows`, `text` and `integer`).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { StoreError } from "../../src/errors.ts";

export const SCHEMA_VERSION = "1";

/**
 * Every commit writes each page it changed to the WAL, so each index is paid for by every
 * step. The state indexes are partial: they hold only what the open reads back (pending
 * promises, unfinished tasks), so a step settled in the commit that records it never
 * touches one (measured: ~6 µs and a sixth of the WAL per commit). Files made before
 * hold whole-column indexes, dropped at open (derived data: nothing is lost; a file
 * opened by that older version gets its index back, and this one drops it again).
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promises (
  id TEXT PRIMARY KEY, origin TEXT NOT NULL, state TEXT NOT NULL, settled_at INTEGER, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS promises_by_origin ON promises (origin);
CREATE INDEX IF NOT EXISTS promises_pending ON promises (state) WHERE state = 'pending';
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tasks_live ON tasks (state) WHERE state <> 'fulfilled';
CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS promise_timeouts (id TEXT PRIMARY KEY, timeout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS task_timeouts (id TEXT PRIMARY KEY, type INTEGER NOT NULL, timeout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS schedule_timeouts (id TEXT PRIMARY KEY, timeout INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT, address TEXT NOT NULL, subject TEXT NOT NULL,
  execute INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_subject ON messages (subject);
DROP INDEX IF EXISTS promises_by_state;
DROP INDEX IF EXISTS tasks_by_state;
`;

/** The lineage a promise belongs to: its root's id (the SDK's `resonate:origin` tag). */
export function originOf(promise: { id: string; tags: Record<string, string> }): string {
  return promise.tags["resonate:origin"] ?? promise.id;
}

export interface Statements {
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
  delPromiseMessages: StatementSync;
}

export function prepareStatements(db: DatabaseSync): Statements {
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
    // A message's subject is the promise it is about (a task has its promise's id).
    delPromiseMessages: db.prepare("DELETE FROM messages WHERE subject = ?"),
  };
}

/**
 * Rows of `sql`. INTEGER values come back as bigint: a deadline past 2^53 ms (e.g. the
 * SDK's `ttl: Number.MAX_SAFE_INTEGER` added to now) is an integral double that SQLite
 * stores as a 64-bit INTEGER, which node:sqlite refuses to read as a number.
 */
export function rows(db: DatabaseSync, sql: string): Record<string, unknown>[] {
  const statement = db.prepare(sql);
  statement.setReadBigInts(true);
  return statement.all() as Record<string, unknown>[];
}

export function text(row: Record<string, unknown>, column: string): string {
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
export function integer(row: Record<string, unknown>, column: string): number {
  const value = row[column];
  if (typeof value === "bigint") return Number(value);
  if (typeof value !== "number")
    throw new StoreError("STORE_CORRUPT", `column ${column} is not a number`);
  return value;
}
