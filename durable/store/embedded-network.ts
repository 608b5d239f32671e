import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Message, Network, Request, Response } from "@resonatehq/sdk";
import { StoreError } from "../../src/errors.ts";
import { collectFinishedExecutions, type GcResult } from "./gc.ts";
import { renewLeases } from "./keepalive.ts";
import { DATABASE_FILE, openOwnedDatabase, retireOwner } from "./ownership.ts";
import { type RecoveryReport, releaseOrphanedTasks } from "./recovery.ts";
import {
  createProtocolServer,
  type ProtocolServer,
  type ServerChange,
  storeRequestHead,
} from "./sdk.ts";
import { searchPromises } from "./search.ts";
import { searchSchedules, searchTasks } from "./search-tasks.ts";
import { snapshot } from "./snapshot.ts";
import type { Durability, StoreDatabase, WriteCounters } from "./store-db.ts";
import { collectTouched, emptyTouched, isEmptyTouched, type TouchedObjects } from "./touched.ts";

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
}

/** What the store holds (on disk: memory holds only the live part and what was read). */
export interface StoreStats {
  promises: number;
  tasks: number;
  schedules: number;
  /** Messages waiting for delivery; drained on every dispatch. */
  outgoing: number;
}

/** Requests applied in memory, waiting for the one transaction that persists them all. */
interface PendingCommit {
  touched: TouchedObjects;
  /** Why each change was made (request kinds), for the error of a failed commit. */
  causes: Set<string>;
  acknowledge: (() => void)[];
  refuse: ((error: StoreError) => void)[];
}

/** Exit status of a process stopped by a store write failure (BSD EX_SOFTWARE). */
export const STORE_FATAL_EXIT_CODE = 70;

function defaultOnFatal(error: StoreError): void {
  process.stderr.write(`capsule: fatal: ${error.code}: ${error.message}\n`);
  if (error.cause instanceof Error)
    process.stderr.write(`caused by: ${error.cause.stack ?? error.cause.message}\n`);
  process.exit(STORE_FATAL_EXIT_CODE);
}

function noop(): void {}

/** Gets every message the server sends, with the address it is for (see `serve/`). */
type Subscriber = (message: Message, address: string) => void;

/**
 * A Resonate `Network` backed by the SDK's own protocol `Server`, with every change
 * written to SQLite (one transaction) before the response is returned. See index.ts.
 */
export class EmbeddedNetwork implements Network {
  readonly unicast: string;
  readonly anycast: string;
  readonly pid: string;
  readonly dir: string;
  /** What recovery did at open. */
  readonly recovery: RecoveryReport;

  private readonly server: ProtocolServer;
  private readonly database: StoreDatabase;
  private readonly onFatal: (error: StoreError) => void;
  private readonly now: () => number;
  private readonly tickIntervalMs: number;
  private readonly keepLeasesAlive: boolean;
  private subscribers: Subscriber[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private dispatchTimer: NodeJS.Timeout | undefined;
  private pending: PendingCommit | undefined;
  private commitTimer: NodeJS.Immediate | undefined;
  private failure: StoreError | undefined;
  private closed = false;

  private constructor(
    options: EmbeddedNetworkOptions,
    server: ProtocolServer,
    database: StoreDatabase,
    recovery: RecoveryReport,
  ) {
    this.dir = options.dir;
    this.pid = options.pid ?? randomUUID().replace(/-/g, "");
    const group = options.group ?? "default";
    this.unicast = `local://uni@${group}/${this.pid}`;
    this.anycast = `local://any@${group}/${this.pid}`;
    this.server = server;
    this.database = database;
    this.recovery = recovery;
    this.onFatal = options.onFatal ?? defaultOnFatal;
    this.now = options.now ?? Date.now;
    this.tickIntervalMs = options.tickIntervalMs ?? 1_000;
    this.keepLeasesAlive = options.keepLeasesAlive ?? true;
  }

  /**
   * Opens the store in `options.dir` as its only owner, rebuilds the server from it and
   * releases the leases of the previous (dead) owner.
   * @throws StoreLockedError (STORE_LOCKED) when a live process owns the store.
   * @throws StoreError (STORE_CORRUPT, STORE_SDK_SHAPE, STORE_WRITE_FAILED).
   */
  static open(options: EmbeddedNetworkOptions): EmbeddedNetwork {
    const database = openOwnedDatabase(options.dir, {
      durability: options.durability ?? "process",
      maxSizeBytes: options.maxSizeBytes,
      bootId: options.bootId,
    });
    try {
      const server = createProtocolServer();
      let recovered: ReturnType<typeof releaseOrphanedTasks>;
      try {
        database.loadLive(server);
        recovered = releaseOrphanedTasks(server, (options.now ?? Date.now)(), {
          releaseLeases: options.leasesOnOpen !== "keep",
        });
      } catch (error) {
        if (error instanceof StoreError) throw error;
        throw new StoreError("STORE_CORRUPT", `cannot rebuild the store in ${options.dir}`, {
          cause: error,
        });
      }
      try {
        database.persist(server, collectTouched(recovered.changes));
      } catch (error) {
        throw new StoreError("STORE_WRITE_FAILED", `cannot persist recovery in ${options.dir}`, {
          cause: error,
        });
      }
      return new EmbeddedNetwork(options, server, database, recovered.report);
    } catch (error) {
      // Nothing was acknowledged from this open: give the store back as it was.
      retireOwner(options.dir);
      database.close();
      throw error;
    }
  }

  /** Path of the SQLite file. */
  get file(): string {
    return path.join(this.dir, DATABASE_FILE);
  }

  /** The anycast address of a group, as the SDK's LocalNetwork. */
  match(target: string): string {
    return `local://any@${target}`;
  }

  /** Starts the timeout tick and delivers recovered work. Called by the Resonate constructor. */
  async init(): Promise<void> {
    if (this.tickTimer !== undefined || this.closed) return;
    this.tickTimer = setInterval(() => this.tick(), this.tickIntervalMs);
    // Recovery's execute messages are waiting for the subscriber that now exists.
    this.scheduleDispatch();
  }

  /** Stops ticks and delivery (called by `resonate.stop()`); the store stays open and locked. */
  async stop(): Promise<void> {
    // Requests already applied are answered (committed) before delivery stops.
    this.commitNow();
    if (this.tickTimer !== undefined) clearInterval(this.tickTimer);
    this.tickTimer = undefined;
    if (this.dispatchTimer !== undefined) clearTimeout(this.dispatchTimer);
    this.dispatchTimer = undefined;
    this.subscribers = [];
  }

  /** Stops the network and releases the store's lock. Idempotent. */
  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    this.closed = true;
    retireOwner(this.dir);
    try {
      if (this.failure === undefined) this.database.syncToDisk();
    } catch (error) {
      throw new StoreError("STORE_WRITE_FAILED", `cannot sync ${this.file} at close`, {
        cause: error,
      });
    } finally {
      this.database.close();
    }
  }

  /**
   * Applies a protocol request to the server and persists what it touched before
   * resolving with the response. Group commit: every request applied in the same turn
   * of the event loop is persisted by one transaction (one fsync with `machine`), run
   * on `setImmediate`; no response and no message is released before the transaction
   * that backs it committed. Rejects with StoreError STORE_WRITE_FAILED once the store
   * is closed or when that transaction fails (fatal, see `onFatal`).
   */
  send = <K extends Request["kind"]>(
    req: Extract<Request, { kind: K }>,
  ): Promise<Extract<Response, { kind: K }>> => {
    const unavailable = this.unavailable();
    if (unavailable !== undefined) return Promise.reject(unavailable);
    const { corrId, version } = req.head;
    const request: Request = req;
    // Reads answered from the database (search*.ts, snapshot.ts: the server holds only
    // what is loaded); nothing to persist, but what was applied before them is committed
    // first so that they see it.
    if (
      request.kind === "promise.search" ||
      request.kind === "task.search" ||
      request.kind === "debug.snap"
    ) {
      this.commitNow();
      if (this.failure !== undefined) return Promise.reject(this.failure);
    }
    const search = this.search(request);
    if (search !== undefined) return Promise.resolve(search as Extract<Response, { kind: K }>);
    if (request.kind === "debug.reset") {
      // Empties the server without reporting changes: commit what is pending, then clear.
      this.commitNow();
      if (this.failure !== undefined) return Promise.reject(this.failure);
    }
    let result: { response: Response; changes: ServerChange[] } | undefined;
    // A throw inside apply may leave the server half-changed with no change list to
    // persist: as fatal as a failed write.
    const applied = this.guardWrite(req.kind, () => {
      result = this.server.apply(this.now(), req);
    });
    if (!applied || result === undefined) return Promise.reject(this.failure);
    const response = {
      kind: result.response.kind,
      head: { corrId, status: result.response.head.status, version },
      data: result.response.data,
    } as Extract<Response, { kind: K }>;
    if (request.kind === "debug.reset") {
      if (!this.guardWrite("debug.reset", () => this.database.clear()))
        return Promise.reject(this.failure);
      return Promise.resolve(response);
    }
    return new Promise((resolve, reject) => {
      this.enqueueCommit(result?.changes ?? [], req.kind, () => resolve(response), reject);
    });
  };

  /** Adds applied changes to the pending group commit, scheduling it if it is the first. */
  private enqueueCommit(
    changes: readonly ServerChange[],
    cause: string,
    acknowledge: () => void,
    refuse: (error: StoreError) => void,
  ): void {
    if (this.pending === undefined) {
      this.pending = { touched: emptyTouched(), causes: new Set(), acknowledge: [], refuse: [] };
      this.commitTimer = setImmediate(() => this.commitNow());
    }
    collectTouched(changes, this.pending.touched);
    this.pending.causes.add(cause);
    this.pending.acknowledge.push(acknowledge);
    this.pending.refuse.push(refuse);
  }

  /**
   * Persists the pending group in one transaction, then answers its requests and
   * delivers the messages they produced. On failure every request of the group is
   * refused (the store stops: memory is ahead of the disk).
   */
  private commitNow(): void {
    if (this.commitTimer !== undefined) clearImmediate(this.commitTimer);
    this.commitTimer = undefined;
    const batch = this.pending;
    if (batch === undefined) return;
    this.pending = undefined;
    const cause = [...batch.causes].join(", ");
    const committed =
      this.failure === undefined &&
      (isEmptyTouched(batch.touched) ||
        this.guardWrite(cause, () => this.database.persist(this.server, batch.touched)));
    if (!committed) {
      const failure =
        this.failure ?? new StoreError("STORE_WRITE_FAILED", `store ${this.dir} failed`);
      for (const refuse of batch.refuse) refuse(failure);
      return;
    }
    for (const acknowledge of batch.acknowledge) acknowledge();
    this.scheduleDispatch();
  }

  private search(request: Request): Response | undefined {
    // The database, not the server's maps: those hold only what is loaded (stored-map.ts).
    if (request.kind === "promise.search") return searchPromises(this.database, request);
    if (request.kind === "task.search") return searchTasks(this.database, request);
    if (request.kind === "schedule.search") return searchSchedules(this.server, request);
    if (request.kind === "debug.snap")
      return snapshot(this.server, this.database, this.now(), request);
    return undefined;
  }

  /** Subscribes to every message the server sends (`execute`, `unblock`). */
  recv(callback: Subscriber): void {
    this.subscribers.push(callback);
  }

  /**
   * Removes settled root executions (and their lineage, tasks and timeouts) settled more
   * than `olderThanMs` ago, from memory and disk.
   * @throws StoreError STORE_WRITE_FAILED when the delete fails (nothing is removed).
   */
  gc({ olderThanMs }: { olderThanMs: number }): GcResult {
    // gc reads the database for candidates, so what was applied must be there first.
    this.commitNow();
    const unavailable = this.unavailable();
    if (unavailable !== undefined) throw unavailable;
    try {
      return collectFinishedExecutions(this.server, this.database, this.now() - olderThanMs);
    } catch (error) {
      throw new StoreError("STORE_WRITE_FAILED", `gc of ${this.file} failed`, { cause: error });
    }
  }

  /** Why the store cannot answer (closed, or stopped by a failed write); undefined when it can. */
  unavailableReason(): string | undefined {
    return this.unavailable()?.message;
  }

  /** How many promises, tasks and schedules the store holds, and messages in flight. */
  stats(): StoreStats {
    if (this.unavailable() === undefined) this.commitNow();
    return { ...this.database.counts(), outgoing: this.server.outgoing.length };
  }

  /**
   * Transactions committed (one per group commit, see `send`) and WAL checkpoints since
   * open: the disk syncs are `commits` with `machine`, `checkpoints` with `process`.
   */
  writeCounters(): WriteCounters {
    return this.database.writeCounters();
  }

  private unavailable(): StoreError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.closed) return new StoreError("STORE_WRITE_FAILED", `store ${this.dir} is closed`);
    return undefined;
  }

  private guardWrite(cause: string, write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      // SQLITE_FULL: the disk, or the file's `maxSizeBytes`, has no room left.
      const full =
        Reflect.get(error as object, "errcode") === 13
          ? " because the store is full (disk or maxSizeBytes)"
          : "";
      this.failure = new StoreError(
        "STORE_WRITE_FAILED",
        `could not apply and persist ${cause} in ${this.file}${full}; nothing of it was recorded, and memory and disk would disagree: stopping`,
        { cause: error },
      );
      void this.stop();
      this.onFatal(this.failure);
      return false;
    }
  }

  /**
   * Processes due timeouts now (lease renewal, expired leases, promise and schedule
   * timeouts), persists the result with what else is pending, delivers its messages,
   * and syncs what was committed to the disk (with `process`, this bounds what a power
   * loss can drop to about one tick). `init()` runs it every `tickIntervalMs`; tests
   * with an injected clock call it directly.
   */
  tick(): void {
    if (this.unavailable() !== undefined) return;
    const now = this.now();
    const changes: ServerChange[] = [];
    const applied = this.guardWrite("debug.tick", () => {
      if (this.keepLeasesAlive) changes.push(...renewLeases(this.server, now));
      const tick = this.server.apply(now, {
        kind: "debug.tick",
        head: storeRequestHead(),
        data: { time: now },
      });
      changes.push(...tick.changes);
    });
    if (!applied) return;
    this.enqueueCommit(changes, "debug.tick", noop, noop);
    this.commitNow();
    if (this.failure !== undefined) return;
    this.dispatch();
    this.guardWrite("checkpoint", () => this.database.syncToDisk());
  }

  private scheduleDispatch(): void {
    if (this.dispatchTimer !== undefined) return;
    this.dispatchTimer = setTimeout(() => {
      this.dispatchTimer = undefined;
      this.dispatch();
    }, 0);
  }

  // Drains the server's outgoing buffer (the SDK's LocalNetwork never does, so it grows
  // for ever). Until the first subscriber exists, messages wait in the buffer.
  private dispatch(): void {
    // A message may only reveal committed state.
    this.commitNow();
    if (this.subscribers.length === 0 || this.server.outgoing.length === 0) return;
    const batch = this.server.outgoing.splice(0);
    for (const [index, { address, message }] of batch.entries()) {
      try {
        for (const subscriber of this.subscribers) subscriber(message, address);
      } catch (error) {
        // A throwing subscriber must not lose the messages after this one.
        this.server.outgoing.unshift(...batch.slice(index + 1));
        this.scheduleDispatch();
        throw error;
      }
    }
  }
}
