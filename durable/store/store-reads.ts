/**
 * Everything the store reads from its file: the live state a server is rebuilt from at
 * open (the rest is loaded by id on first use), and the searches, counts and lineages
 * of what memory does not hold. Writes are store-db.ts's.
 */
import type { DatabaseSync } from "node:sqlite";
import { StoreError } from "../../src/errors.ts";
import { decodePromise, decodeSchedule, decodeTask } from "./records.ts";
import { integer, rows, text } from "./schema.ts";
import type { ProtocolServer, ServerPromise, ServerTask } from "./sdk.ts";
import { StoredMap } from "./stored-map.ts";

/**
 * Fills an empty server with what is live: pending promises, unfinished tasks, every
 * schedule and timeout. Everything else is loaded by id when the server asks for it
 * (stored-map.ts), so open costs the live work, not the history.
 */
export function loadLive(db: DatabaseSync, server: ProtocolServer): void {
  const promiseById = db.prepare("SELECT body FROM promises WHERE id = ?");
  const taskById = db.prepare("SELECT body FROM tasks WHERE id = ?");
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
  for (const row of rows(db, "SELECT id, body FROM promises WHERE state = 'pending'")) {
    const id = text(row, "id");
    promises.set(id, decodePromise(id, text(row, "body")));
  }
  for (const row of rows(db, "SELECT id, body FROM tasks WHERE state <> 'fulfilled'")) {
    const id = text(row, "id");
    tasks.set(id, decodeTask(id, text(row, "body")));
  }
  for (const row of rows(db, "SELECT id, body FROM schedules")) {
    const id = text(row, "id");
    server.schedules.set(id, decodeSchedule(id, text(row, "body")));
  }
  for (const row of rows(db, "SELECT id, timeout FROM promise_timeouts")) {
    server.pTimeouts.push({ id: text(row, "id"), timeout: integer(row, "timeout") });
  }
  for (const row of rows(db, "SELECT id, type, timeout FROM task_timeouts")) {
    const type = integer(row, "type");
    if (type !== 0 && type !== 1)
      throw new StoreError("STORE_CORRUPT", `task timeout type ${type}`);
    server.tTimeouts.push({ id: text(row, "id"), type, timeout: integer(row, "timeout") });
  }
  for (const row of rows(db, "SELECT id, timeout FROM schedule_timeouts")) {
    server.sTimeouts.push({ id: text(row, "id"), timeout: integer(row, "timeout") });
  }
  checkReferences(server);
}

// The server throws "invariant violation" on a task without its promise; refuse such a
// file at open rather than crash later in the middle of a tick. (Live tasks only: a
// fulfilled task's promise is settled and never looked up by a tick.)
function checkReferences(server: ProtocolServer): void {
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
export function promisesWhere(
  db: DatabaseSync,
  filter: { state?: string | undefined; origin?: string | undefined },
): ServerPromise[] {
  const clauses: string[] = [];
  const values: string[] = [];
  // A literal, so that SQLite can use the partial index of pending promises (schema.ts).
  if (filter.state === "pending") clauses.push("state = 'pending'");
  else if (filter.state !== undefined) {
    clauses.push("state = ?");
    values.push(filter.state);
  }
  if (filter.origin !== undefined) {
    clauses.push("origin = ?");
    values.push(filter.origin);
  }
  const where = clauses.length === 0 ? "" : ` WHERE ${clauses.join(" AND ")}`;
  return (
    db.prepare(`SELECT id, body FROM promises${where}`).all(...values) as Record<string, unknown>[]
  ).map((row) => decodePromise(text(row, "id"), text(row, "body")));
}

/** Every stored task in `state` (any when undefined), for searches. */
export function tasksWhere(db: DatabaseSync, state: string | undefined): ServerTask[] {
  const found = (
    state === undefined
      ? db.prepare("SELECT id, body FROM tasks").all()
      : db.prepare("SELECT id, body FROM tasks WHERE state = ?").all(state)
  ) as Record<string, unknown>[];
  return found.map((row) => decodeTask(text(row, "id"), text(row, "body")));
}

/** How many promises, tasks and schedules the file holds. */
export function counts(db: DatabaseSync): { promises: number; tasks: number; schedules: number } {
  const count = (table: string) =>
    integer(db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() ?? {}, "n");
  return { promises: count("promises"), tasks: count("tasks"), schedules: count("schedules") };
}

/** Ids of settled root promises whose settlement is older than `before` (ms epoch). */
export function settledRootsBefore(db: DatabaseSync, before: number): string[] {
  return db
    .prepare(
      "SELECT id FROM promises WHERE id = origin AND state <> 'pending' AND settled_at < ? ORDER BY settled_at",
    )
    .all(before)
    .map((row) => text(row as Record<string, unknown>, "id"));
}

/** Ids of every promise in a lineage, the root included. */
export function lineage(db: DatabaseSync, rootId: string): string[] {
  return db
    .prepare("SELECT id FROM promises WHERE origin = ?")
    .all(rootId)
    .map((row) => text(row as Record<string, unknown>, "id"));
}
