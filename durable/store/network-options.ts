/**
 * What `EmbeddedNetwork.open` takes, what `stats()` reports, and what a fatal write
 * failure does by default.
 */
import { StoreError } from "../../src/errors.ts";
import type { Durability } from "./store-db.ts";

export interface EmbeddedNetworkOptions {
  /** Directory of the store (created if missing). Holds `store.db` and `owner`. */
  dir: string;
  /** Process id the SDK uses for this worker; pass the same `pid` to `Resonate`. */
  pid?: string;
  /** Group of this worker (addresses are `local://any@{group}/{pid}`). Default "default". */
  group?: string;
  /**
   * What an acknowledged step survives (store-db.ts). `process` (default): any crash of
   * the process; a power loss may make the last steps run again. `machine`: also a power
   * loss, at one fsync per commit (shared by the requests of one group commit).
   */
  durability?: Durability;
  /** The machine's boot identity (generation.ts); default from the OS. For tests that simulate a reboot. */
  bootId?: string;
  /** Upper bound of the database size; a write beyond it fails (and is fatal). */
  maxSizeBytes?: number;
  /** Period of the timeout-processing tick, as the SDK's LocalNetwork (1000 ms). */
  tickIntervalMs?: number;
  /**
   * Called when a write fails after the in-memory server already changed: memory and
   * disk disagree, so the process must not go on. Default: print the error to stderr and
   * `process.exit(70)`. After it returns (tests), every later request is rejected.
   */
  onFatal?: (error: StoreError) => void;
  /** Renew this process's task leases on each tick (keepalive.ts). Default true. */
  keepLeasesAlive?: boolean;
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /**
   * What open does with tasks the store shows as acquired. `release` (default): their
   * holder was the previous owner of the store, now dead, so they are released and run
   * again at once. `keep`: holders are other processes (`capsule serve`'s clients), which
   * may be alive; their leases stand until they expire.
   */
  leasesOnOpen?: "release" | "keep";
  /**
   * Keep every outgoing message in the store until its receiver got it (outbox.ts), for
   * receivers that are other processes (`capsule serve`). Default false: in process, the
   * receiver dies with the store and recovery re-derives the work from the tasks.
   */
  persistMessages?: boolean;
}

/** What the store holds (on disk: memory holds only the live part and what was read). */
export interface StoreStats {
  promises: number;
  tasks: number;
  schedules: number;
  /** Messages waiting for delivery: drained on every dispatch, or with `persistMessages` the rows not yet delivered. */
  outgoing: number;
}

/** Exit status of a process stopped by a store write failure (BSD EX_SOFTWARE). */
export const STORE_FATAL_EXIT_CODE = 70;

export function defaultOnFatal(error: StoreError): void {
  process.stderr.write(`capsule: fatal: ${error.code}: ${error.message}\n`);
  if (error.cause instanceof Error)
    process.stderr.write(`caused by: ${error.cause.stack ?? error.cause.message}\n`);
  process.exit(STORE_FATAL_EXIT_CODE);
}

/** The error that stops the store when applying or persisting `cause` failed. */
export function writeFailure(cause: string, file: string, error: unknown): StoreError {
  // SQLITE_FULL: the disk, or the file's `maxSizeBytes`, has no room left.
  const full =
    Reflect.get(error as object, "errcode") === 13
      ? " because the store is full (disk or maxSizeBytes)"
      : "";
  return new StoreError(
    "STORE_WRITE_FAILED",
    `could not apply and persist ${cause} in ${file}${full}; nothing of it was recorded, and memory and disk would disagree: stopping`,
    { cause: error },
  );
}
