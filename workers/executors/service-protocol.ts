/**
 * How the session worker's main thread (which runs every cell) and its service thread
 * (which owns the wire) talk: one typed union of MessagePort messages per direction, and
 * a small shared Int32Array that both sides change only with Atomics.
 *
 * The shared `CELL` word is the interrupt handshake. The service thread may ask V8 to
 * terminate the main thread's JavaScript only while that word says a cell's synchronous
 * part is running, and it claims the word first, so a termination can never hit
 * unrelated code on an idle main thread:
 *
 *   main, before the cell's synchronous part:  CAS IDLE → token
 *   main, after it:                            CAS token → IDLE (fails if TERMINATING:
 *                                              main then waits for the termination to land)
 *   service, to interrupt it:                  CAS token → TERMINATING, then terminate
 *   service, to stop a cell that is not in
 *   its synchronous part (awaiting, or not
 *   started yet):                              CAS IDLE → stoppedMarker(token)
 *   main, after the termination unwound:       TERMINATING → IDLE
 *
 * The shared `MAIN` word says what the main thread runs outside a cell's synchronous part,
 * so that a *stray* callback (a timer or promise callback a finished cell left behind that
 * never yields) can be stopped the same way without ever cutting Capsule's own code:
 *
 *   main, entering Capsule code from the event loop:  PULSE += 1, then CAS FREE → RUNTIME
 *                                                     (a cell's synchronous part runs
 *                                                     inside it); on leaving: → FREE
 *   service, when the main thread owes it a doorbell
 *   and runs JS outside Capsule code too long:        CAS FREE → STRAY_CLAIMED, re-read
 *                                                     PULSE (changed: the main thread just
 *                                                     came in; back to FREE), else request
 *                                                     the termination, then → STRAY_REQUESTED
 *   main, entering while a claim stands:              CLAIMED: wait for the service's
 *                                                     decision; REQUESTED: spin briefly (a
 *                                                     termination not landed yet lands here,
 *                                                     where it cuts nothing), then
 *                                                     CAS REQUESTED → RUNTIME
 *
 * Service → main messages travel on the `inbox` port, which the main thread reads with
 * `receiveMessageOnPort` one at a time; a message on the worker port is only a doorbell.
 * So a termination that unwinds the main thread in the middle of its messages loses none:
 * the rest stay queued for the next doorbell. `DOORBELL` is 1 while a doorbell is unanswered.
 *
 * The shared `PIPE` word says who writes frames. The service thread owns the pipe, but a
 * worker thread takes ~20 ms to boot, longer than the main thread needs to be ready; so
 * the main thread writes READY itself if the service thread has not taken the pipe yet:
 *
 *   main, sending READY:     CAS UNCLAIMED → MAIN_WRITING, write frame 1 and copy it to
 *                            `readyFrame`, then → READY_WRITTEN (on failure: back to
 *                            UNCLAIMED, and READY goes through the service thread)
 *   service, before its
 *   channel exists:          CAS UNCLAIMED → SERVICE (frames from 1), or wait out
 *                            MAIN_WRITING, then READY_WRITTEN → SERVICE (frames from 2)
 */
import type { HostMessage, MessageOf, WorkerMessage } from "../../src/protocol/messages.ts";

/** Why the service thread stopped a cell. */
export type StopReason = "cancel" | "timeout" | "shutdown";

/** Service thread → main thread. */
export type FromService =
  /** A message from the host; an `execute` carries the token of its cell. */
  | { type: "host"; message: HostMessage; token?: number }
  /**
   * The cell `token` was stopped. `terminated`: its synchronous part was interrupted (the
   * main thread's stack was unwound, so this message is how the main thread learns it).
   */
  | { type: "stopped"; token: number; reason: StopReason; terminated: boolean }
  /** Something the host should see as the worker's stderr (a protocol problem). */
  | { type: "diagnostic"; text: string }
  /** The host asked to shut down, or is gone: exit. */
  | { type: "exit" }
  /** Nothing to do: proves the main thread still reaches its event loop. */
  | { type: "ping" }
  /**
   * A callback that held the main thread without yielding was stopped. `waitingCell`: the
   * cell that was waiting for the main thread (the notice goes into its output);
   * `afterStop`: the current cell had already been stopped (timed out or cancelled), so
   * what was cut may have been that cell's own code, and its error says so already.
   */
  | {
      type: "stray_stopped";
      heldMs: number;
      limitMs: number;
      waitingCell?: string;
      afterStop: boolean;
    };

/** Main thread → service thread. */
export type ToService =
  /** `done`: the reply ending cell `done`, whose deadline and cancel are dropped first. */
  | { type: "send"; message: WorkerMessage; done?: number }
  /**
   * A synchronous `input()`: send the request, and when the host answers, post the answer
   * on `answers` and wake the main thread waiting on `INPUT`.
   */
  | { type: "input"; message: MessageOf<"input"> }
  /** The main thread is back in Capsule code after a stray callback was stopped. */
  | { type: "stray_recovered" };

/** The answer to a synchronous `input()`, posted on the answers port before the wake-up. */
export interface InputAnswer {
  input_id: string;
  value: string;
  cancelled: boolean;
  /** The coded reason of a cancelled answer (`input_response.code`). */
  code?: string;
}

/** Slots of the shared Int32Array. */
export const Slot = {
  /** The interrupt handshake (see the module comment). */
  CELL: 0,
  /** A synchronous `input()`: WAITING while the main thread sleeps on it. */
  INPUT: 1,
  /** Top-level user names, for heartbeats. */
  NAMESPACE_SIZE: 2,
  /** What the main thread runs outside a cell's synchronous part (see the module comment). */
  MAIN: 3,
  /** Counts the main thread's entries into Capsule code. */
  PULSE: 4,
  /** 1 while a doorbell is unanswered. */
  DOORBELL: 5,
  /** The token of the latest cell the main thread has taken from the inbox. */
  RECEIVED: 6,
  /** Capsule work in flight across turns of the event loop (a restore): no stray stops. */
  BUSY: 7,
  /** Who writes to the frame pipe (see the module comment). */
  PIPE: 8,
  /** The byte length of the frame in `readyFrame`, once READY_WRITTEN. */
  READY_BYTES: 9,
} as const;
export const SHARED_SLOTS = 10;

export const PIPE_UNCLAIMED = 0;
export const PIPE_MAIN_WRITING = 1;
export const PIPE_READY_WRITTEN = 2;
export const PIPE_SERVICE = 3;
/** Room for the READY frame the main thread writes itself (it is ~40 bytes). */
export const READY_FRAME_BYTES = 256;

export const MAIN_FREE = 0;
export const MAIN_RUNTIME = 1;
export const MAIN_STRAY_CLAIMED = 2;
export const MAIN_STRAY_REQUESTED = 3;

export const CELL_IDLE = 0;
export const CELL_TERMINATING = -1;

/** What `CELL` holds once cell `token` was stopped outside its synchronous part. */
export function stoppedMarker(token: number): number {
  return -(token + 1);
}

export const INPUT_IDLE = 0;
export const INPUT_WAITING = 1;
export const INPUT_ANSWERED = 2;

/** What the main thread hands the service thread when it starts it. */
export interface ServiceData {
  /** The worker's configuration, as the host passed it. */
  config: ServiceConfig;
  shared: SharedArrayBuffer;
  /** The service thread's end of the synchronous-input answers channel. */
  answers: MessagePort;
  /** Where the service thread posts its messages to the main thread (see the module comment). */
  inbox: MessagePort;
  parentPid: number;
  /** Whether the process runs under the permission model, which this thread must too. */
  permissionModel: boolean;
  /** The READY frame the main thread wrote to the pipe itself, if it did (see `PIPE`). */
  readyFrame: SharedArrayBuffer;
}

export interface ServiceConfig {
  heartbeatMs: number;
  graceMs: number;
  maxFrameBytes: number;
  memoryLimitBytes: number;
  defaultTimeoutMs: number;
}

/** Written to stderr before the worker ends itself over the RSS limit. */
export const MEMORY_LIMIT_MARKER = "CAPSULE_MEMORY_LIMIT";
