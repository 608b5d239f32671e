/**
 * Starts the worker's service thread (service-thread.ts) as the first thing the process
 * does. A worker thread takes ~20 ms to boot, the longest single step of a session's
 * start, and it overlaps the loading of everything else only if it begins before that:
 * this module loads nothing but `node:worker_threads`, so the worker's entry can start
 * the thread before it imports the rest (see session-worker.ts).
 *
 * The thread's events have one set of listeners, here. Until a `ServiceLink` adopts the
 * thread, a doorbell it rings is remembered and a failure of it ends the process, as it
 * would later: without that thread the worker cannot reach its host.
 */
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import { fs } from "../../src/builtins.ts";
import {
  READY_FRAME_BYTES,
  type ServiceConfig,
  type ServiceData,
  SHARED_SLOTS,
} from "./service-protocol.ts";

/** Process exit code of a worker whose service thread failed. */
const SERVICE_FAILED_EXIT = 70;

/** A started service thread and the main thread's ends of what it shares with it. */
export interface StartedService {
  readonly thread: Worker;
  readonly shared: Int32Array;
  readonly readyFrame: Uint8Array;
  readonly answers: MessagePort;
  readonly inbox: MessagePort;
  /**
   * Hands the thread's events to the adopter. A doorbell rung before is answered on the
   * next turn, once the adopter's maker has set its handlers.
   */
  adopt(handlers: ServiceEvents): void;
}

/** What the main thread does when its service thread rings, and when it fails. */
export interface ServiceEvents {
  doorbell(): void;
  failure(error: Error): void;
}

/**
 * `thread` is service-thread.ts's URL, as the worker's entry names it: this module may be
 * bundled into that entry (see src/build/bundle.ts), so its own URL says nothing of where
 * the thread's file is.
 */
export function startServiceThread(config: ServiceConfig, thread: URL): StartedService {
  const shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
  const readyFrame = new Uint8Array(new SharedArrayBuffer(READY_FRAME_BYTES));
  const answers = new MessageChannel();
  const inbox = new MessageChannel();
  const data: ServiceData = {
    config,
    shared: shared.buffer as SharedArrayBuffer,
    answers: answers.port2,
    inbox: inbox.port2,
    parentPid: process.ppid,
    permissionModel: process.permission !== undefined,
    readyFrame: readyFrame.buffer as SharedArrayBuffer,
  };
  // Not unref'd: this thread owns the frame pipe, which is what keeps the worker alive.
  // No `execArgv`: the thread inherits the process's flags, the permission model's
  // among them (a thread keeps the model only if its flags name it, see
  // thread-flags.ts). It starts before the builtin guard is loaded (session-main.ts),
  // so it runs without the guard's hooks, which are for cells.
  const worker = new Worker(thread, {
    workerData: data,
    transferList: [answers.port2, inbox.port2],
  });
  let rang = false;
  let events: ServiceEvents = {
    doorbell: () => {
      rang = true;
    },
    failure: serviceThreadFailed,
  };
  worker.on("message", () => events.doorbell());
  worker.on("error", (error: unknown) =>
    events.failure(error instanceof Error ? error : new Error(String(error))),
  );
  worker.on("exit", (code) =>
    events.failure(new Error(`the service thread exited with code ${code}`)),
  );
  return {
    thread: worker,
    shared,
    readyFrame,
    answers: answers.port1,
    inbox: inbox.port1,
    adopt(handlers) {
      events = handlers;
      if (rang) setImmediate(() => handlers.doorbell());
    },
  };
}

/** The worker cannot reach its host without its service thread: end, and say why. */
export function serviceThreadFailed(error: unknown): never {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  fs.writeSync(2, `\ncapsule: the worker's service thread failed: ${text}\n`);
  process.exit(SERVICE_FAILED_EXIT);
}
