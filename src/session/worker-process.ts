/**
 * The host-side adapter of one worker process: starts it, speaks the protocol with it,
 * routes replies to the request that caused them, and when the process exits rejects
 * every pending request with the reason it died (Temporal-style pending map).
 *
 * The worker runs user code, and a cell can write anything to the frame pipe, so every
 * frame is judged as hostile: a corrupt stream, a frame out of sequence, a second
 * `ready`, a reply to an id nobody asked, an impossible heartbeat is a
 * `PROTOCOL_VIOLATION`. The worker is ended at once and that violation, not "exited" or
 * "killed", is the reason its pending requests fail with (the session then replaces it
 * from its checkpoint, as after any crash).
 */

import { totalmem } from "node:os";
import { CapsuleError, ProtocolError, WorkerCrashedError } from "../errors.ts";
import { isFatalProtocolError, ProtocolChannel } from "../protocol/channel.ts";
import {
  type Heartbeat,
  type HostMessage,
  isWorkerMessage,
  type WorkerMessage,
} from "../protocol/messages.ts";
import { classifyExit, type ExitInfo } from "./crash.ts";
import type { ResolvedSessionOptions } from "./options.ts";
import { removeWorkdir, type SpawnedWorker, spawnWorker } from "./spawn.ts";
import { errorFromWire } from "./wire-errors.ts";

/** A request in flight: gets every message correlated to its id until it settles. */
export interface PendingRequest {
  /** Returns true when this message settles the request. */
  onMessage(message: WorkerMessage): boolean;
  onExit(error: CapsuleError): void;
}

const STDERR_TAIL_BYTES = 16 * 1024;
const SHUTDOWN_GRACE_MS = 2000;
/** Grid steps per heartbeat interval (see `heartbeatGridMs`): a heartbeat is at most a tenth late. */
const HEARTBEAT_GRID_STEPS = 10;

export class WorkerProcess {
  /** The worker's pid (inside a sandbox: the worker itself, known once it is ready). */
  pid: number;
  readonly workdir: string;
  /** Resolves once, when the process has exited and its resources are released. */
  readonly exited: Promise<ExitInfo>;
  #channel: ProtocolChannel;
  #spawned: SpawnedWorker;
  #pending = new Map<string, PendingRequest>();
  /** Whether the host wants the worker watched for silence now (see `watchLiveness`). */
  #watchWanted = false;
  /** Whether the worker's service thread, which heartbeats, is up (see `start`). */
  #heartbeating = false;
  #stderrTail = "";
  #exitInfo: ExitInfo | undefined;
  /** The first protocol violation seen: the reason the worker was ended. */
  #violation: ProtocolError | undefined;
  #lastRss = 0;
  /** Output of the worker's raw stdout/stderr (native writes), attributed by the session. */
  onRawOutput: (stream: "stdout" | "stderr", data: string) => void = () => {};
  /** Messages no pending request claimed (late output, checkpoints between cells). */
  onUnclaimed: (message: WorkerMessage) => void = () => {};
  /** Called when the process has exited, before pending requests are rejected. */
  onExit: (info: ExitInfo) => void = () => {};

  private constructor(spawned: SpawnedWorker, options: ResolvedSessionOptions) {
    this.#spawned = spawned;
    this.workdir = spawned.workdir;
    const pid = spawned.child.pid;
    if (pid === undefined)
      throw new CapsuleError("WORKER_START_FAILED", "worker process did not start");
    this.pid = pid;
    this.#channel = new ProtocolChannel(spawned.frames, {
      heartbeatIntervalMs: options.heartbeatMs,
      graceMs: options.graceMs,
      // A host of many sessions sends their idle heartbeats in shared wake-ups.
      heartbeatGridMs: options.heartbeatMs / HEARTBEAT_GRID_STEPS,
      heartbeatFields: () => ({ memory_usage: 0, cpu_percent: 0, namespace_size: 0 }),
      // A pipe: only a cell writing into it can put a frame out of sequence.
      orderedTransport: true,
    });
    // A starting worker is silent until it has loaded; watch it from its `ready` on.
    this.#channel.watchPeer(false);
    this.#channel.on("message", (message) => {
      if (isWorkerMessage(message)) this.#route(message);
      else this.#violate(`the worker sent "${message.type}", a message only a host sends`);
    });
    this.#channel.on("heartbeat", (heartbeat) => {
      const impossible = impossibleHeartbeat(heartbeat);
      if (impossible === undefined) this.#lastRss = heartbeat.memory_usage;
      else this.#violate(`the worker sent a heartbeat with ${impossible}`);
    });
    this.#channel.on("error", (error) => {
      if (isFatalProtocolError(error))
        this.#violate(`the worker's frame stream is corrupt: ${error.message}`, error);
      else this.#stderrTail += `\n[capsule protocol] ${error.message}`;
    });
    this.#channel.on("dead", (error) => {
      this.#stderrTail += `\n[capsule] ${error.message}; ending the worker`;
      this.kill("SIGKILL");
    });
    spawned.child.stdout
      ?.setEncoding("utf8")
      .on("data", (data: string) => this.onRawOutput("stdout", data));
    spawned.child.stderr?.setEncoding("utf8").on("data", (data: string) => {
      this.#stderrTail = (this.#stderrTail + data).slice(-STDERR_TAIL_BYTES);
      this.onRawOutput("stderr", data);
    });
    this.exited = new Promise<ExitInfo>((resolve) => {
      spawned.child.once("exit", (code, signal) => {
        // stderr may still hold the last words (an OOM report); wait for it to close.
        const finish = () => {
          const status = spawned.exitStatus(code, signal);
          const info = classifyExit(status.code, status.signal, this.#stderrTail, this.#violation);
          this.#exitInfo = info;
          this.#channel.close();
          removeWorkdir(this.workdir);
          this.onExit(info);
          const pending = [...this.#pending.values()];
          this.#pending.clear();
          for (const request of pending) request.onExit(info.error);
          resolve(info);
        };
        if (spawned.child.stderr === null || spawned.child.stderr.readableEnded) finish();
        else spawned.child.stderr.once("close", finish);
      });
    });
  }

  /** Spawns a worker and waits for its `ready`; fails with the reason if it dies first. */
  static async start(options: ResolvedSessionOptions): Promise<WorkerProcess> {
    const worker = new WorkerProcess(await spawnWorker(options), options);
    await new Promise<void>((resolve, reject) => {
      worker.#pending.set("ready", {
        onMessage: (message) => {
          if (message.type !== "ready") return false;
          worker.#watchWanted = true;
          // A service thread still starting is not silent yet: its first heartbeat says it is up.
          if (message.service_starting === true) {
            worker.#channel.once("heartbeat", () => {
              worker.#heartbeating = true;
              worker.#applyWatch();
            });
          } else {
            worker.#heartbeating = true;
            worker.#applyWatch();
          }
          worker.pid = worker.#spawned.workerPid() ?? worker.pid;
          resolve();
          return true;
        },
        onExit: (error) =>
          reject(
            new CapsuleError("WORKER_START_FAILED", `worker failed to start: ${error.message}`, {
              cause: error,
            }),
          ),
      });
    });
    return worker;
  }

  get alive(): boolean {
    return this.#exitInfo === undefined;
  }

  /** The worker's resident memory as of its last heartbeat, in bytes (0 before one). */
  get lastRss(): number {
    return this.#lastRss;
  }

  /**
   * Sends a message, if the frame pipe is still open. A worker whose pipe has closed is on
   * its way out: its exit, which follows, settles whatever was waiting for it.
   */
  send(message: HostMessage): void {
    if (!this.alive || this.#channel.closed) return;
    this.#channel.send(message);
  }

  /** Sends `message` and routes every reply carrying `id` to `pending` until it settles. */
  request(id: string, message: HostMessage, pending: PendingRequest): void {
    if (!this.alive) {
      pending.onExit(this.#exitInfo?.error ?? new WorkerCrashedError("worker is not running"));
      return;
    }
    this.#pending.set(id, pending);
    this.send(message);
  }

  /**
   * Sends a request and resolves with the first reply `accept` turns into a value; an
   * `error` reply rejects with its error, and so does the worker's exit.
   */
  call<T>(
    id: string,
    message: HostMessage,
    accept: (reply: WorkerMessage) => T | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.request(id, message, {
        onMessage: (reply) => {
          if (reply.type === "error") {
            reject(errorFromWire(reply));
            return true;
          }
          const value = accept(reply);
          if (value === undefined) return false;
          resolve(value);
          return true;
        },
        onExit: reject,
      });
    });
  }

  /** See `ProtocolChannel.watchPeer`: off while a cell runs on the worker's event loop. */
  watchLiveness(enabled: boolean): void {
    this.#watchWanted = enabled;
    this.#applyWatch();
  }

  /** Silence is judged only when wanted and once the worker's heartbeating thread is up. */
  #applyWatch(): void {
    this.#channel.watchPeer(this.#watchWanted && this.#heartbeating);
  }

  /** Sends a signal to the worker (cells are cancelled by message; this is for SIGKILL and tests). */
  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.#spawned.signal(signal);
  }

  /** Asks the worker to exit, and kills it if it has not after a grace period. */
  async shutdown(): Promise<ExitInfo> {
    if (this.alive) {
      this.send({ type: "shutdown" });
      const timer = setTimeout(() => this.kill("SIGKILL"), SHUTDOWN_GRACE_MS);
      const info = await this.exited;
      clearTimeout(timer);
      return info;
    }
    return this.exited;
  }

  /**
   * Ends a worker that broke the protocol. The first violation is the reason every
   * pending request fails with; nothing it sends afterwards is routed.
   */
  #violate(message: string, cause?: ProtocolError): void {
    if (this.#violation !== undefined || !this.alive) return;
    this.#violation = new ProtocolError(
      "PROTOCOL_VIOLATION",
      `${message}; the worker was ended`,
      cause === undefined ? {} : { cause },
    );
    this.#stderrTail += `\n[capsule protocol] ${this.#violation.message}`;
    this.kill("SIGKILL");
  }

  #route(message: WorkerMessage): void {
    if (this.#violation !== undefined) return;
    const key = correlationOf(message);
    const pending = key === undefined ? undefined : this.#pending.get(key);
    if (pending === undefined) {
      // Output or an `input()` from a timer a finished cell left behind is the session's
      // to handle; an answer to a request nobody made can only be forged.
      if (key !== undefined && isReply(message)) {
        this.#violate(
          message.type === "ready"
            ? "the worker sent a second `ready`"
            : `the worker sent a "${message.type}" for ${JSON.stringify(key.slice(0, 80))}, which no request is waiting for`,
        );
        return;
      }
      this.onUnclaimed(message);
      return;
    }
    if (pending.onMessage(message) && key !== undefined) this.#pending.delete(key);
  }
}

/** The kinds that answer a host request: they exist only for a pending one. */
function isReply(message: WorkerMessage): boolean {
  switch (message.type) {
    case "ready":
    case "result":
    case "checkpoint":
    case "restored":
    case "introspection":
      return true;
    case "error":
      return message.execution_id !== undefined;
    default:
      return false;
  }
}

/**
 * Why a heartbeat's fields cannot be true, if they cannot: resident memory is a whole
 * number of bytes no larger than the machine's memory (the pool recycles sessions by it,
 * so a forged figure must not steer that).
 */
function impossibleHeartbeat(heartbeat: Heartbeat): string | undefined {
  const rss = heartbeat.memory_usage;
  if (!Number.isSafeInteger(rss)) return `memory_usage ${rss}, not a whole number of bytes`;
  if (rss > totalmem()) return `memory_usage ${rss}, more than the machine's ${totalmem()} bytes`;
  return undefined;
}

function correlationOf(message: WorkerMessage): string | undefined {
  switch (message.type) {
    case "ready":
      return "ready";
    case "output":
    case "display":
    case "input":
    case "capability_call":
    case "result":
    case "checkpoint":
      return message.execution_id;
    case "error":
      return message.execution_id;
    case "restored":
    case "introspection":
      return message.id;
    default:
      return undefined;
  }
}
