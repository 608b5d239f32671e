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
import type { Durability, StoreDatabase } from "./store-db.ts";
import { collectTouched, isEmptyTouched } from "./touched.ts";

export interface EmbeddedNetworkOptions {
  /** Directory of the store (created if missing). Holds `store.db` and `owner`. */
  dir: string;
  /** Process id the SDK uses for this worker; pass the same `pid` to `Resonate`. */
  pid?: string;
  /** Group of this worker (addresses are `local://any@{group}/{pid}`). Default "default". */
  group?: string;
  /** `full` (default): fsync on every commit. `normal`: survives process crashes only. */
  durability?: Durability;
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

/** Exit status of a process stopped by a store write failure (BSD EX_SOFTWARE). */
export const STORE_FATAL_EXIT_CODE = 70;

function defaultOnFatal(error: StoreError): void {
  process.stderr.write(`capsule: fatal: ${error.code}: ${error.message}\n`);
  if (error.cause instanceof Error)
    process.stderr.write(`caused by: ${error.cause.stack ?? error.cause.message}\n`);
  process.exit(STORE_FATAL_EXIT_CODE);
}

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
      durability: options.durability ?? "full",
      maxSizeBytes: options.maxSizeBytes,
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
    this.database.close();
  }

  /**
   * Applies a protocol request to the server and persists what it touched (one
   * transaction) before resolving with the response. Messages it produced are delivered
   * on a later event-loop turn. Rejects with StoreError STORE_WRITE_FAILED once the store
   * is closed or after a fatal write failure.
   */
  send = <K extends Request["kind"]>(
    req: Extract<Request, { kind: K }>,
  ): Promise<Extract<Response, { kind: K }>> => {
    const unavailable = this.unavailable();
    if (unavailable !== undefined) return Promise.reject(unavailable);
    const { corrId, version } = req.head;
    const request: Request = req;
    // Reads the SDK's Server does not implement (search*.ts); nothing to persist.
    const search = this.search(request);
    if (search !== undefined) return Promise.resolve(search as Extract<Response, { kind: K }>);
    const result = this.applyDurably(this.now(), req);
    if (result === undefined) return Promise.reject(this.failure);
    this.scheduleDispatch();
    const response = {
      kind: result.response.kind,
      head: { corrId, status: result.response.head.status, version },
      data: result.response.data,
    };
    return Promise.resolve(response as Extract<Response, { kind: K }>);
  };

  private search(request: Request): Response | undefined {
    // The database, not the server's maps: those hold only what is loaded (stored-map.ts).
    if (request.kind === "promise.search") return searchPromises(this.database, request);
    if (request.kind === "task.search") return searchTasks(this.database, request);
    if (request.kind === "schedule.search") return searchSchedules(this.server, request);
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
    return { ...this.database.counts(), outgoing: this.server.outgoing.length };
  }

  private unavailable(): StoreError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.closed) return new StoreError("STORE_WRITE_FAILED", `store ${this.dir} is closed`);
    return undefined;
  }

  /** Applies and persists; on a write failure reports it as fatal and returns undefined. */
  private applyDurably(now: number, req: Request): { response: Response } | undefined {
    let result: { response: Response; changes: ServerChange[] } | undefined;
    // A throw inside apply may leave the server half-changed with no change list to
    // persist: as fatal as a failed write.
    const applied = this.guardWrite(req.kind, () => {
      result = this.server.apply(now, req);
    });
    if (!applied || result === undefined) return undefined;
    return this.persist(result.changes, req.kind) ? result : undefined;
  }

  private persist(changes: readonly ServerChange[], cause: string): boolean {
    // debug.reset empties the server without reporting changes.
    if (cause === "debug.reset") return this.guardWrite(cause, () => this.database.clear());
    const touched = collectTouched(changes);
    if (isEmptyTouched(touched)) return true;
    return this.guardWrite(cause, () => this.database.persist(this.server, touched));
  }

  private guardWrite(cause: string, write: () => void): boolean {
    try {
      write();
      return true;
    } catch (error) {
      this.failure = new StoreError(
        "STORE_WRITE_FAILED",
        `could not apply and persist ${cause} in ${this.file}; memory and disk would disagree, stopping`,
        { cause: error },
      );
      void this.stop();
      this.onFatal(this.failure);
      return false;
    }
  }

  /**
   * Processes due timeouts now (lease renewal, expired leases, promise and schedule
   * timeouts), persists the result and delivers its messages. `init()` runs it every
   * `tickIntervalMs`; tests with an injected clock call it directly.
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
    if (applied && this.persist(changes, "debug.tick")) this.dispatch();
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
