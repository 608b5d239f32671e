import { randomUUID } from "node:crypto";
import path from "node:path";
import type { Network, Request, Response } from "@resonatehq/sdk";
import { StoreError } from "../../src/errors.ts";
import { answersAtOnce } from "./early-answer.ts";
import { collectFinishedExecutions, type GcResult } from "./gc.ts";
import { GroupCommit } from "./group-commit.ts";
import { renewLeases } from "./keepalive.ts";
import {
  defaultOnFatal,
  type EmbeddedNetworkOptions,
  STORE_FATAL_EXIT_CODE,
  type StoreStats,
  writeFailure,
} from "./network-options.ts";
import { deliverAll, type MessageSubscriber, type Outbox, type OutboxEntry } from "./outbox.ts";
import { DATABASE_FILE, openOwnedDatabase, retireOwner } from "./ownership.ts";
import { rebuildServer } from "./rebuild.ts";
import type { RecoveryReport } from "./recovery.ts";
import { type ProtocolServer, type ServerChange, storeRequestHead } from "./sdk.ts";
import { searchPromises } from "./search.ts";
import { searchSchedules, searchTasks } from "./search-tasks.ts";
import { SettledBranches } from "./settled-branches.ts";
import { snapshot } from "./snapshot.ts";
import type { StoreDatabase, WriteCounters } from "./store-db.ts";
import { isEmptyTouched, type TouchedObjects } from "./touched.ts";

export { type EmbeddedNetworkOptions, STORE_FATAL_EXIT_CODE, type StoreStats };

/**
 * Gets every message the server sends, with the address it is for (see `serve/`); with
 * `persistMessages` it calls `delivered` once the receiver has it (or never can): until
 * then the message stays in the store, and a restart delivers it again (outbox.ts).
 */
type Subscriber = MessageSubscriber;

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
  private readonly group: GroupCommit;
  /** Forgets finished branches once committed (settled-branches.ts). */
  private readonly settled: SettledBranches;
  /** With `persistMessages` (outbox.ts); messages are otherwise delivered from memory. */
  private readonly outbox: Outbox | undefined;
  private failure: StoreError | undefined;
  private closed = false;

  private constructor(
    options: EmbeddedNetworkOptions,
    server: ProtocolServer,
    database: StoreDatabase,
    recovery: RecoveryReport,
    outbox: Outbox | undefined,
  ) {
    this.outbox = outbox;
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
    this.settled = new SettledBranches(server);
    this.group = new GroupCommit(
      (cause, touched) => {
        const committed =
          this.failure === undefined &&
          ((isEmptyTouched(touched) && outbox?.hasWork(touched) !== true) ||
            this.guardWrite(cause, () => this.persist(touched)));
        if (committed) {
          this.settled.committed(touched);
          return undefined;
        }
        return this.failure ?? new StoreError("STORE_WRITE_FAILED", `store ${this.dir} failed`);
      },
      () => this.scheduleDispatch(),
    );
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
      const { server, outbox, recovery } = rebuildServer(database, options);
      return new EmbeddedNetwork(options, server, database, recovery, outbox);
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
   * resolving with the response. Group commit (group-commit.ts): every request applied
   * in the same turn of the event loop is persisted by one transaction (one fsync with
   * `machine`), run on `setImmediate`; no acknowledgment and no message is released
   * before the transaction that backs it committed. Reads of committed state and the
   * creation of a local step are answered at once (early-answer.ts). Rejects with
   * StoreError STORE_WRITE_FAILED once the store is closed or when that transaction
   * fails (fatal, see `onFatal`).
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
      this.outbox?.clear();
      return Promise.resolve(response);
    }
    const { changes } = result;
    const heldHere = (task: string) => this.server.tasks.get(task)?.pid === this.pid;
    if (answersAtOnce(request, changes, this.group.pending, heldHere)) {
      if (changes.length > 0) this.group.add(changes, req.kind);
      return Promise.resolve(response);
    }
    return new Promise((resolve, reject) => {
      this.group.add(changes, req.kind, () => resolve(response), reject);
    });
  };

  /** Persists what was applied and not yet committed, answering its requests. */
  private commitNow(): void {
    this.group.commitNow();
  }

  /** One transaction: the touched objects, and the outbox's rows when there is one. */
  private persist(touched: TouchedObjects): void {
    const outbox = this.outbox;
    this.database.persist(
      this.server,
      touched,
      outbox && (() => outbox.write(this.server, touched)),
    );
    outbox?.committed();
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
    const outgoing = this.outbox?.count() ?? this.server.outgoing.length;
    return { ...this.database.counts(), outgoing };
  }

  /**
   * Transactions committed (one per group commit, see `send`) and WAL checkpoints since
   * open: the disk syncs are `commits` with `machine`, `checkpoints` with `process`.
   */
  writeCounters(): WriteCounters {
    return this.database.writeCounters();
  }

  /** What the server holds in memory (the database holds everything), for tests and benchmarks. */
  held(): { promises: number; tasks: number; openBranches: number } {
    const { promises, tasks } = this.server;
    return { promises: promises.size, tasks: tasks.size, openBranches: this.settled.openBranches };
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
      this.failure = writeFailure(cause, this.file, error);
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
    this.group.add(changes, "debug.tick");
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
    const outbox = this.outbox;
    // With an outbox, messages are its committed rows; the server's buffer is not needed.
    if (outbox !== undefined) this.server.outgoing.length = 0;
    if (this.subscribers.length === 0) return;
    if (outbox === undefined) {
      deliverAll(this.server.outgoing.splice(0), this.subscribers, undefined, (rest) => {
        this.server.outgoing.unshift(...rest);
        this.scheduleDispatch();
      });
      return;
    }
    const delivered = (entry: OutboxEntry) => () => this.delivered(outbox, entry.id);
    deliverAll(outbox.take(), this.subscribers, delivered, (rest) => {
      outbox.putBack(rest);
      this.scheduleDispatch();
    });
  }

  // The row goes with the next group commit (one scheduled if none is pending).
  private delivered(outbox: Outbox, id: number): void {
    if (this.unavailable() !== undefined) return;
    outbox.settle(id);
    this.group.add([], "message.delivered");
  }
}
