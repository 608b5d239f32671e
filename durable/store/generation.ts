/**
 * Detects a store file that lost commits behind SQLite's back.
 *
 * SQLite keeps a WAL database consistent, but it cannot know about commits that are no
 * longer there: a `store.db` truncated to 0 bytes opens as a new, empty database; a WAL
 * deleted after a `kill -9` (before its commits were checkpointed into `store.db`)
 * takes those commits with it; a flipped byte in the WAL fails that frame's checksum,
 * and SQLite silently stops reading the log at the last good commit before it. In each
 * case the store would open "fine" and report executions as not found.
 *
 * So every store transaction also bumps a commit counter, the *generation*, kept in two
 * places: the `meta` table (inside the transaction, so it is exactly as old as the data
 * SQLite recovers) and a small sidecar file `generation` written right after the commit
 * (so it survives any loss of the database files). On open, before anything is written,
 * a read-only connection (which never checkpoints, so the WAL stays byte for byte as it
 * was; it may create an empty `-wal` or `-shm` where there was none) reads the
 * database's generation: lower than the sidecar *claims*, or a different store id, and
 * the open fails with STORE_CORRUPT, leaving every file untouched for a repair (e.g.
 * putting the deleted WAL back).
 *
 * What the sidecar claims depends on what can have been lost legitimately. It records
 * two counts and the boot it was written in:
 * - `written`: every committed transaction. A process crash loses nothing written (the
 *   data is in the kernel's page cache), so while the machine has not restarted since
 *   (same boot id) the database must hold all of them.
 * - `durable`: the transactions known to be on the disk itself: every commit with
 *   `durability: "machine"` (synchronous=FULL fsyncs the WAL in each commit), only those
 *   up to the last checkpoint with `"process"` (synchronous=NORMAL syncs at checkpoints).
 *   After a restart of the machine (another boot id) a power loss may have dropped the
 *   rest, which `process` accepts: the database must hold at least `durable`, and
 *   whatever is missing past it only makes steps run again.
 * The sidecar is written after the commit (and after the sync it claims), never fsynced
 * itself: a crash or power loss can leave it behind the database, never ahead, and a
 * sidecar that is behind only weakens the check, never fails a sound store.
 *
 * What SQLite recovers on its own is not reported: a torn or damaged frame after the
 * last commit (an uncommitted write), and a leftover WAL or `-shm` from a killed owner.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { StoreError } from "../../src/errors.ts";

export const GENERATION_FILE = "generation";

/** Which store a database is, and how many transactions it committed. */
export interface Generation {
  storeId: string;
  count: number;
}

/** What the sidecar records: the generation, how much of it is on disk, and when. */
export interface GenerationRecord extends Generation {
  /** Commits known to be on the disk (fsynced), `<= count`. */
  durable: number;
  /** The boot of the machine the record was written in; undefined in old records. */
  bootId: string | undefined;
}

// One fixed-size line, rewritten in place: a write never changes the file's length and
// stays within one disk sector, so it is never torn.
const RECORD_BYTES = 160;
const RECORD = /^capsule-store-generation (\S+) (\d+) (\d+) (\S+) *\n$/;
// Written before durability levels: one count, fully claimed.
const RECORD_V1 = /^capsule-store-generation (\S+) (\d+) *\n$/;

/**
 * The identity of the machine's current boot: it changes exactly when the machine
 * restarted, i.e. when a power loss may have dropped what was not fsynced. Linux has
 * one; elsewhere the boot time to the minute stands in (a mismatch from rounding only
 * makes the check claim less, never fail a sound store).
 */
export function currentBootId(): string {
  try {
    return fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `boot-${Math.round((Date.now() / 1000 - os.uptime()) / 60)}`;
  }
}

export function newStoreId(): string {
  return randomUUID().replace(/-/g, "");
}

function encode({ storeId, count, durable, bootId }: GenerationRecord): Buffer {
  const line = `capsule-store-generation ${storeId} ${count} ${durable} ${bootId ?? "unknown"}`;
  return Buffer.from(`${line.padEnd(RECORD_BYTES - 1)}\n`);
}

/** The sidecar's record, or undefined when there is none (a new or pre-generation store). */
export function readGenerationFile(dir: string): GenerationRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, GENERATION_FILE), "utf8");
  } catch (error) {
    if (Reflect.get(error as object, "code") === "ENOENT") return undefined;
    throw new StoreError("STORE_CORRUPT", `cannot read ${GENERATION_FILE} in ${dir}`, {
      cause: error,
    });
  }
  const match = RECORD.exec(text);
  if (match?.[1] !== undefined && match[2] !== undefined && match[3] !== undefined) {
    return {
      storeId: match[1],
      count: Number(match[2]),
      durable: Number(match[3]),
      bootId: match[4],
    };
  }
  const v1 = RECORD_V1.exec(text);
  if (v1?.[1] !== undefined && v1[2] !== undefined) {
    const count = Number(v1[2]);
    return { storeId: v1[1], count, durable: count, bootId: undefined };
  }
  throw new StoreError("STORE_CORRUPT", `${path.join(dir, GENERATION_FILE)} is malformed`);
}

/** The sidecar, open for the store's lifetime; one positioned write per commit. */
export class GenerationFile {
  readonly #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens (creating) the sidecar without truncating it: a crash must never leave it empty. */
  static open(dir: string): GenerationFile {
    const { O_RDWR, O_CREAT } = fs.constants;
    return new GenerationFile(fs.openSync(path.join(dir, GENERATION_FILE), O_RDWR | O_CREAT));
  }

  write(generation: GenerationRecord): void {
    fs.writeSync(this.#fd, encode(generation), 0, RECORD_BYTES, 0);
  }

  close(): void {
    fs.closeSync(this.#fd);
  }
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof Error &&
    (Reflect.get(error, "errcode") === 5 || /database is locked/.test(error.message))
  );
}

/** The generation a database file holds, read without writing anything. */
function peekGeneration(file: string): Partial<Generation> {
  const db = new DatabaseSync(file, { readOnly: true, timeout: 0 });
  try {
    const rows = db
      .prepare("SELECT key, value FROM meta WHERE key IN ('store_id', 'generation')")
      .all() as { key: string; value: string }[];
    const value = (key: string) => rows.find((row) => row.key === key)?.value;
    const count = value("generation");
    return {
      ...(value("store_id") === undefined ? {} : { storeId: value("store_id") }),
      ...(count === undefined ? {} : { count: Number(count) }),
    };
  } finally {
    db.close();
  }
}

/**
 * How many commits the database must hold: all written ones unless the machine
 * restarted since the record was written (see the file comment).
 */
export function claimedCommits(record: GenerationRecord, bootId: string): number {
  return record.bootId === undefined || record.bootId === bootId ? record.count : record.durable;
}

/**
 * Refuses a database that is older than its sidecar claims (lost commits) or is another
 * store's. Writes nothing. A live owner's store (locked) is left to the caller's open,
 * which reports it as locked.
 * Returns how many commits the sidecar says are on the disk (0 when it has no record).
 * @throws StoreError STORE_CORRUPT
 */
export function checkGeneration(dir: string, file: string, bootId: string): number {
  const record = readGenerationFile(dir);
  if (record === undefined) return 0;
  const claimed = claimedCommits(record, bootId);
  if (claimed === 0) return record.durable;
  const expected = { storeId: record.storeId, count: claimed };
  const lost = (detail: string, cause?: unknown) =>
    new StoreError(
      "STORE_CORRUPT",
      `${file} ${detail}, but ${GENERATION_FILE} records ${expected.count} commits: commits were lost (truncated or replaced store.db, deleted or damaged store.db-wal). Nothing was changed; restore the missing file, or remove ${path.join(dir, GENERATION_FILE)} to accept the loss and open what is left`,
      cause === undefined ? {} : { cause },
    );
  if (!fs.existsSync(file)) throw lost("does not exist");
  if (fs.statSync(file).size === 0) throw lost("is empty");
  let found: Partial<Generation>;
  try {
    found = peekGeneration(file);
  } catch (error) {
    if (isBusy(error)) return 0;
    throw lost("cannot be read as a store", error);
  }
  if (found.storeId !== undefined && found.storeId !== expected.storeId) {
    throw new StoreError(
      "STORE_CORRUPT",
      `${file} is store ${found.storeId}, but ${GENERATION_FILE} belongs to store ${expected.storeId}`,
    );
  }
  const count = found.count ?? 0;
  if (count < expected.count) throw lost(`holds ${count} commits`);
  return Math.min(record.durable, count);
}
