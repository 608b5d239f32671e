/**
 * A Capsule worker: an ordinary Resonate SDK process in a worker group that registers
 * the generic cell function and runs cells for any orchestrator, in a warm local
 * SessionPool. Each answer is the StepRecord the in-process path records (runCell),
 * plus where it ran. The worker holds nothing an orchestrator needs: the namespace it
 * keeps live is a cache of what the store's records rebuild.
 *
 * A worker that dies mid-cell leaves its task leased until the lease (`leaseMs`) runs
 * out; the server then hands the task to another process of the group, which restores
 * the session from the store and runs the cell again (its record never existed).
 */
import os from "node:os";
import type { Network, PromiseRecord } from "@resonatehq/sdk";
import { type Info, Resonate } from "@resonatehq/sdk/async";
import { type PoolOptions, SessionPool } from "../../src/session/index.ts";
import { runCell } from "../cell-runner.ts";
import { HumanInputs } from "../human-input.ts";
import { getPromise } from "../promise-query.ts";
import { createRemoteNetwork, resolveRemoteUrl } from "../remote.ts";
import { capsuleLogger } from "../sdk-logger.ts";
import type { StepRecord } from "../step-record.ts";
import { CELL_FUNCTION, parseCellRequest, type RemoteStepRecord } from "./cell-request.ts";
import { LiveSessions } from "./live-sessions.ts";
import { OutputLogWriter } from "./output-log.ts";
import { remoteCapabilities } from "./remote-capabilities.ts";
import { Semaphore } from "./semaphore.ts";
import { checkpointAfter } from "./store-checkpoint.ts";

export interface WorkerOptions {
  /** The Resonate server (or `capsule serve`). Default: env `RESONATE_URL`. */
  url?: string;
  /** The worker group to join. Default "cells". */
  group?: string;
  /** Cells run at once (more wait, their tasks' leases kept). Default: the CPUs (at most the pool's `maxSessions`). */
  concurrency?: number;
  /** Bearer token (default: env `RESONATE_TOKEN`). */
  token?: string;
  /** This process's id on the server. Default: a random one. */
  pid?: string;
  /**
   * Lease of a task this worker runs, ms (kept alive while the cell runs). After a crash
   * of this worker, its cell moves to another worker once the lease runs out. Default 10 000.
   */
  leaseMs?: number;
  /**
   * Sessions kept live between cells (least recently used released first). Default and
   * most: the pool's `maxSessions` (16) less one.
   */
  maxLiveSessions?: number;
  /** A live session unused this long goes back to the pool, ms. Default 600 000. */
  sessionIdleMs?: number;
  /** Options of the worker's session pool (limits, permissions, sizes…). */
  pool?: PoolOptions;
  logLevel?: "debug" | "info" | "warn" | "error";
}

export const DEFAULT_WORKER_GROUP = "cells";

/** SessionPool's own default `maxSessions`. */
const POOL_MAX_SESSIONS = 16;

export class CapsuleWorker {
  readonly pid: string;
  readonly group: string;
  readonly url: string;
  readonly pool: SessionPool;
  readonly #resonate: Resonate;
  readonly #network: Network;
  readonly #live: LiveSessions;
  readonly #inputs: HumanInputs;
  #stopping: Promise<void> | undefined;

  private constructor(options: WorkerOptions, url: string) {
    this.url = url;
    this.group = options.group ?? DEFAULT_WORKER_GROUP;
    const remote = createRemoteNetwork({
      url,
      group: this.group,
      ...(options.pid === undefined ? {} : { pid: options.pid }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    this.pid = remote.pid;
    this.#network = remote.network;
    this.#resonate = new Resonate({
      network: remote.network,
      pid: remote.pid,
      group: this.group,
      ttl: options.leaseMs ?? 10_000,
      logger: capsuleLogger(options.logLevel),
    });
    this.pool = new SessionPool({ ...options.pool, checkpoint: true });
    this.#inputs = new HumanInputs({
      send: remote.network.send,
      promises: this.#resonate.promises,
    });
    // Live sessions hold pool sessions: keep them within the pool's bound (one spare for
    // a session being retired), or a new session would wait for a pool that never frees.
    const poolSize = options.pool?.maxSessions ?? POOL_MAX_SESSIONS;
    const concurrency = Math.min(options.concurrency ?? os.availableParallelism(), poolSize);
    this.#live = new LiveSessions(this.pool, {
      maxLive: Math.max(1, Math.min(options.maxLiveSessions ?? poolSize - 1, poolSize - 1)),
      idleMs: options.sessionIdleMs ?? 600_000,
    });
    const slots = new Semaphore(concurrency);
    // A leaf function (Info, not Context): one cell, no durable calls inside.
    const cell = async (info: Info, raw: unknown): Promise<RemoteStepRecord> => {
      const request = parseCellRequest(raw);
      return slots.with(() =>
        this.#live.run(
          `${request.execution}\u0000${request.session}`,
          request.prev,
          info.id,
          () => checkpointAfter(this.#network.send, request.prev, (id) => this.#settled(id)),
          async (session, start) => {
            const log = request.live
              ? new OutputLogWriter(
                  { send: this.#network.send, promises: this.#resonate.promises },
                  { stepId: info.id, originId: request.execution },
                )
              : undefined;
            // input() is a durable question in the store, as in-process: the orchestrator's
            // onInput, `capsule answer` or any client answers it; a re-run gets the record.
            // A capability call is a record the orchestrator answers with its host function.
            const attemptEnded = new AbortController();
            let record: StepRecord;
            try {
              record = await runCell(session, request.code, {
                ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
                ...(request.mode === undefined ? {} : { mode: request.mode }),
                ...(log === undefined ? {} : { onOutput: (chunk) => log.push(chunk) }),
                ...(request.capabilities === undefined
                  ? {}
                  : {
                      capabilities: remoteCapabilities(
                        request.capabilities,
                        { send: this.#network.send, promises: this.#resonate.promises },
                        { stepId: info.id, originId: request.execution },
                        attemptEnded.signal,
                      ),
                    }),
                onInput: this.#inputs.asker({
                  stepId: info.id,
                  originId: request.execution,
                  session: request.session,
                  timeoutMs: request.inputTimeoutMs,
                  signal: attemptEnded.signal,
                }),
              });
            } finally {
              attemptEnded.abort();
              // Every batch is in the store before the record: a settled step's log is whole.
              await log?.close();
            }
            return {
              ...record,
              ranOn: {
                worker: this.pid,
                group: this.group,
                hostPid: process.pid,
                sessionPid: session.pid,
                start,
                ...(log === undefined ? {} : { stream: log.attempt }),
              },
            };
          },
        ),
      );
    };
    this.#resonate.register(CELL_FUNCTION, cell);
  }

  /**
   * Joins the group: from now on the server may hand this process cells.
   * @throws TypeError when neither `url` nor env `RESONATE_URL` names a server.
   */
  static start(options: WorkerOptions = {}): CapsuleWorker {
    const url = resolveRemoteUrl(options.url);
    if (url === undefined) {
      throw new TypeError("no server URL for the worker (pass --url, `url`, or set RESONATE_URL)");
    }
    return new CapsuleWorker(options, url);
  }

  /** Sessions kept live now. */
  get liveSessions(): number {
    return this.#live.size;
  }

  /** Leaves the group; a cell still running is not recorded and runs again elsewhere. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#resonate.stop();
      this.#live.releaseAll();
      await this.pool.close();
    })();
    return this.#stopping;
  }

  /** The promise `id` once settled: a listener on it, not a poll. */
  async #settled(id: string): Promise<PromiseRecord> {
    const handle = await this.#resonate.get(id);
    await handle.result().catch(() => undefined);
    const record = await getPromise(this.#network.send, id);
    if (record === undefined) throw new Error(`promise ${id} vanished`);
    return record;
  }
}
