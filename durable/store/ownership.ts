/**
 * One process owns a store directory at a time.
 *
 * The lock is SQLite's own: the database connection runs in `locking_mode=EXCLUSIVE` and
 * holds an exclusive POSIX lock on the file for as long as it is open. The kernel
 * releases that lock when the owning process dies (even by `kill -9`), so there is no
 * stale lock to detect and no takeover race to arbitrate: two processes racing to open a
 * store after its owner died are serialized by the kernel, one wins, the other gets
 * "database is locked" and a StoreLockedError.
 *
 * The `owner` file next to the database only names the owner's pid for that error
 * message; it is written after the lock is held (atomically, by rename) and is never
 * trusted for mutual exclusion. A leftover `owner` file from a dead process is harmless.
 *
 * Caveat of POSIX locks: closing *any* descriptor of the database file in the owning
 * process drops the lock, so nothing else in the process may open store.db directly.
 */
import fs from "node:fs";
import path from "node:path";
import { StoreError, StoreLockedError } from "../../src/errors.ts";
import { StoreDatabase, type StoreDatabaseOptions } from "./store-db.ts";

export const DATABASE_FILE = "store.db";
const OWNER_FILE = "owner";
// How long a loser of the open race waits for the winner to publish its pid; only the
// error message depends on it.
const OWNER_PUBLISH_WAIT_MS = 1_000;

function isSqliteBusy(error: unknown): boolean {
  return (
    error instanceof Error &&
    (Reflect.get(error, "errcode") === 5 || /database is locked/.test(error.message))
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return Reflect.get(error as object, "code") === "EPERM";
  }
}

function readOwnerPid(dir: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(dir, OWNER_FILE), "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The pid of the live owner, waiting briefly for a just-started owner to publish it. */
function ownerPidOfLockedStore(dir: string): number {
  const deadline = Date.now() + OWNER_PUBLISH_WAIT_MS;
  let pid = readOwnerPid(dir);
  while ((pid === undefined || !isAlive(pid)) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    pid = readOwnerPid(dir);
  }
  return pid ?? -1;
}

function publishOwner(dir: string): void {
  const temporary = path.join(dir, `${OWNER_FILE}.${process.pid}.tmp`);
  fs.writeFileSync(temporary, String(process.pid));
  fs.renameSync(temporary, path.join(dir, OWNER_FILE));
}

/**
 * Opens the store database in `dir` (created if missing) as its sole owner.
 * @throws StoreLockedError when another live connection owns it.
 */
export function openOwnedDatabase(dir: string, options: StoreDatabaseOptions): StoreDatabase {
  fs.mkdirSync(dir, { recursive: true });
  let database: StoreDatabase;
  try {
    database = StoreDatabase.open(path.join(dir, DATABASE_FILE), options);
  } catch (error) {
    if (isSqliteBusy(error)) throw new StoreLockedError(dir, ownerPidOfLockedStore(dir));
    if (error instanceof StoreError) throw error;
    throw new StoreError("STORE_CORRUPT", `cannot open the store in ${dir}`, { cause: error });
  }
  try {
    publishOwner(dir);
  } catch (error) {
    database.close();
    throw new StoreError("STORE_WRITE_FAILED", `cannot write the owner file in ${dir}`, {
      cause: error,
    });
  }
  return database;
}

/**
 * Removes the owner file if it names this process. Call while still holding the lock
 * (before closing the database), so it can never remove a successor's file.
 */
export function retireOwner(dir: string): void {
  if (readOwnerPid(dir) === process.pid) fs.rmSync(path.join(dir, OWNER_FILE), { force: true });
}
