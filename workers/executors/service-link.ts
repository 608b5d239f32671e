/**
 * The main thread's side of the service thread (see service-thread.ts): starts it, sends
 * the worker's messages through it in call order, and gives the cell runner the three
 * things that need the other thread: the interrupt guard around a cell's synchronous
 * part, the stop notice of a cell, and a synchronous `input()`.
 */
import { type MessagePort, receiveMessageOnPort, type Worker } from "node:worker_threads";
import { fs } from "../../src/builtins.ts";
import { encodeFrame } from "../../src/protocol/frame-codec.ts";
import type { HostMessage, MessageOf, WorkerMessage } from "../../src/protocol/messages.ts";
import { CellInterrupt } from "../errors.ts";
import {
  CELL_IDLE,
  CELL_TERMINATING,
  type FromService,
  INPUT_IDLE,
  INPUT_WAITING,
  type InputAnswer,
  MAIN_FREE,
  MAIN_RUNTIME,
  MAIN_STRAY_CLAIMED,
  MAIN_STRAY_REQUESTED,
  PIPE_MAIN_WRITING,
  PIPE_READY_WRITTEN,
  PIPE_UNCLAIMED,
  READY_FRAME_BYTES,
  Slot,
  type StopReason,
  stoppedMarker,
  type ToService,
} from "./service-protocol.ts";
import { type StartedService, serviceThreadFailed } from "./service-start.ts";

/** What a cell run needs from the service thread. */
export interface CellService {
  /** Sends a message to the host, after everything sent before it. */
  send(message: WorkerMessage): void;
  /**
   * Runs a cell's synchronous part where the service thread may interrupt it. Returns
   * `{ stopped: true }` without running it when the cell was stopped before it began. An
   * interrupt unwinds the whole stack (nothing after it runs, no `finally`), so call this
   * only from a dispatch point where that is safe; `whenStopped` reports it.
   */
  guard<T>(token: number, run: () => T): { value: T } | { stopped: true };
  /** Rejects with the interrupt once the service thread has stopped cell `token`. */
  whenStopped(token: number, timeoutMs: number): Promise<never>;
  /**
   * The cell `token` ended with `reply`: the service thread drops its deadline, then sends
   * the reply (one message between the threads, not two).
   */
  endCell(token: number, reply: WorkerMessage): void;
  /** Sends an `input` request and blocks this thread until the host answers it. */
  askInputSync(message: MessageOf<"input">): InputAnswer;
  /** Reported in heartbeats. */
  setNamespaceSize(size: number): void;
  /**
   * Runs Capsule's own code that starts from the event loop outside a doorbell (a cell's
   * end, a restore's continuation), where a stray callback's stop never cuts it.
   */
  runtime<T>(run: () => T): T;
  /** Capsule work that spans turns of the event loop (a restore) starts (+1) or ends (-1). */
  busy(delta: 1 | -1): void;
}

/** What the main thread hears when a stray callback was stopped. */
export type StrayNotice = Extract<FromService, { type: "stray_stopped" }>;

/**
 * How long the main thread, entering while a stray callback's termination is requested,
 * gives that termination to land (it lands at the first interrupt check, microseconds).
 */
const STRAY_LANDING_MS = 5;

function interruptFor(reason: StopReason, timeoutMs: number): CellInterrupt {
  switch (reason) {
    case "cancel":
      return new CellInterrupt("EXECUTION_CANCELLED", "execution cancelled");
    case "shutdown":
      return new CellInterrupt(
        "EXECUTION_CANCELLED",
        "execution cancelled: the worker is shutting down",
      );
    case "timeout":
      return new CellInterrupt("LIMIT_TIMEOUT", `execution timed out after ${timeoutMs} ms`);
  }
}

export class ServiceLink implements CellService {
  readonly #thread: Worker;
  readonly #shared: Int32Array;
  readonly #readyFrame: Uint8Array;
  readonly #answers: MessagePort;
  readonly #inbox: MessagePort;
  /** Nesting of `runtime()` inside one entry from the event loop. */
  #depth = 0;
  readonly #stops = new Map<
    number,
    { reject(interrupt: CellInterrupt): void; timeoutMs: number }
  >();
  /** A host message; an `execute` carries its cell's token. */
  onHost: (message: HostMessage, token: number | undefined) => void = () => {};
  onDiagnostic: (text: string) => void = () => {};
  /** A callback that held the main thread was stopped. */
  onStray: (notice: StrayNotice) => void = () => {};
  /** The host asked us to exit, or is gone. */
  onExit: () => void = () => {};
  /**
   * The service thread itself failed: the worker cannot talk to its host any more.
   * Default: end the process with the reason on stderr.
   */
  onFailure: (error: Error) => void = serviceThreadFailed;

  /** Takes over a service thread `startServiceThread` started (see service-start.ts). */
  constructor(started: StartedService) {
    this.#thread = started.thread;
    this.#shared = started.shared;
    this.#readyFrame = started.readyFrame;
    this.#answers = started.answers;
    this.#inbox = started.inbox;
    started.adopt({
      doorbell: () => this.#onDoorbell(),
      failure: (error) => this.onFailure(error),
    });
  }

  send(message: WorkerMessage): void {
    this.#post({ type: "send", message });
  }

  /**
   * Sends READY, the first frame. The service thread may still be booting (a worker
   * thread's own start is ~20 ms, more than this thread needs to get ready), and nothing
   * else waits for it: what the host sends meanwhile waits in the pipe. So READY is
   * written from here, as frame 1, unless the service thread has taken the pipe already
   * (see `PIPE` in service-protocol.ts).
   */
  sendReady(message: MessageOf<"ready">): void {
    const claimed = Atomics.compareExchange(
      this.#shared,
      Slot.PIPE,
      PIPE_UNCLAIMED,
      PIPE_MAIN_WRITING,
    );
    if (claimed !== PIPE_UNCLAIMED || !this.#writeReady(message)) this.send(message);
  }

  /** Writes READY to the pipe (fd 3); false, with the pipe left unclaimed, if it cannot. */
  #writeReady(message: MessageOf<"ready">): boolean {
    let written = 0;
    let done = false;
    try {
      const frame = encodeFrame({ ...message, seq: 1, service_starting: true });
      if (frame.byteLength <= READY_FRAME_BYTES) {
        while (written < frame.byteLength) written += fs.writeSync(3, frame, written);
        this.#readyFrame.set(frame);
        Atomics.store(this.#shared, Slot.READY_BYTES, frame.byteLength);
        done = true;
      }
    } catch (error) {
      // Part of a frame on the pipe cannot be taken back: the stream is broken for good.
      if (written > 0) throw error;
    } finally {
      Atomics.store(this.#shared, Slot.PIPE, done ? PIPE_READY_WRITTEN : PIPE_UNCLAIMED);
      Atomics.notify(this.#shared, Slot.PIPE);
    }
    return done;
  }

  guard<T>(token: number, run: () => T): { value: T } | { stopped: true } {
    for (;;) {
      const seen = Atomics.compareExchange(this.#shared, Slot.CELL, CELL_IDLE, token);
      if (seen === CELL_IDLE) break;
      if (seen === stoppedMarker(token)) return { stopped: true };
      if (seen === CELL_TERMINATING || seen > CELL_IDLE)
        throw new Error(`capsule: cell ${token} started while the interrupt state was ${seen}`);
      // The marker of an earlier cell, stopped just as it ended: clear it and enter.
      Atomics.compareExchange(this.#shared, Slot.CELL, seen, CELL_IDLE);
    }
    try {
      return { value: run() };
    } finally {
      if (Atomics.compareExchange(this.#shared, Slot.CELL, token, CELL_IDLE) !== token) {
        // TERMINATING: the interrupt is on its way. Running on would let it cut whatever
        // comes next at a random point, so wait here, where it unwinds nothing of ours.
        while (Atomics.load(this.#shared, Slot.CELL) === CELL_TERMINATING) {
          // spin until the termination lands
        }
      }
    }
  }

  whenStopped(token: number, timeoutMs: number): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      this.#stops.set(token, { reject, timeoutMs });
    });
  }

  endCell(token: number, reply: WorkerMessage): void {
    this.#stops.delete(token);
    this.#post({ type: "send", message: reply, done: token });
  }

  askInputSync(message: MessageOf<"input">): InputAnswer {
    Atomics.store(this.#shared, Slot.INPUT, INPUT_WAITING);
    this.#post({ type: "input", message });
    while (Atomics.load(this.#shared, Slot.INPUT) === INPUT_WAITING) {
      Atomics.wait(this.#shared, Slot.INPUT, INPUT_WAITING);
    }
    Atomics.store(this.#shared, Slot.INPUT, INPUT_IDLE);
    // Answers to earlier inputs (woken by a stop that raced their answer) are stale.
    for (;;) {
      const received = receiveMessageOnPort(this.#answers);
      if (received === undefined)
        return { input_id: message.id, value: "input cancelled", cancelled: true };
      const answer = received.message as InputAnswer;
      if (answer.input_id === message.id) return answer;
    }
  }

  setNamespaceSize(size: number): void {
    Atomics.store(this.#shared, Slot.NAMESPACE_SIZE, size);
  }

  runtime<T>(run: () => T): T {
    if (this.#depth === 0) this.#enter();
    this.#depth++;
    try {
      return run();
    } finally {
      if (--this.#depth === 0) Atomics.store(this.#shared, Slot.MAIN, MAIN_FREE);
    }
  }

  busy(delta: 1 | -1): void {
    Atomics.add(this.#shared, Slot.BUSY, delta);
  }

  /**
   * The service thread has messages for us. They are taken one at a time: a termination
   * (of a cell's synchronous part, or of a stray callback) unwinds this handler without
   * running its `finally`, and whatever was not taken yet waits for the next doorbell.
   */
  #onDoorbell(): void {
    // Only the event loop calls this, never a cell: a depth left over is from a run a
    // termination unwound.
    this.#depth = 0;
    this.runtime(() => {
      Atomics.store(this.#shared, Slot.DOORBELL, 0);
      for (;;) {
        const received = receiveMessageOnPort(this.#inbox);
        if (received === undefined) return;
        this.#receive(received.message as FromService);
      }
    });
  }

  /** Claims the main thread for Capsule code (see the `MAIN` word in service-protocol.ts). */
  #enter(): void {
    Atomics.add(this.#shared, Slot.PULSE, 1);
    for (;;) {
      const seen = Atomics.compareExchange(this.#shared, Slot.MAIN, MAIN_FREE, MAIN_RUNTIME);
      // RUNTIME is only ever written here: one a termination left behind is ours again.
      if (seen === MAIN_FREE || seen === MAIN_RUNTIME) return;
      if (seen === MAIN_STRAY_REQUESTED) {
        // A termination not landed yet lands in this loop, before we have taken anything.
        const until = performance.now() + STRAY_LANDING_MS;
        while (performance.now() < until) {
          // let it land
        }
        const now = Atomics.compareExchange(
          this.#shared,
          Slot.MAIN,
          MAIN_STRAY_REQUESTED,
          MAIN_RUNTIME,
        );
        if (now === MAIN_STRAY_REQUESTED) {
          this.#post({ type: "stray_recovered" });
          return;
        }
      }
      // MAIN_STRAY_CLAIMED: the service thread is deciding, without blocking; ask again.
      if (seen !== MAIN_STRAY_CLAIMED && seen !== MAIN_STRAY_REQUESTED)
        throw new Error(`capsule: the main thread's state is ${seen}`);
    }
  }

  /** Stops the service thread (the process is exiting). */
  async close(): Promise<void> {
    this.#thread.removeAllListeners("exit");
    await this.#thread.terminate();
  }

  #post(message: ToService): void {
    this.#thread.postMessage(message);
  }

  #receive(message: FromService): void {
    switch (message.type) {
      case "host":
        if (message.token !== undefined) Atomics.store(this.#shared, Slot.RECEIVED, message.token);
        this.onHost(message.message, message.token);
        return;
      case "ping":
        return;
      case "stray_stopped":
        this.onStray(message);
        return;
      case "stopped": {
        // The termination has unwound by now (this message is read after it): re-arm.
        if (message.terminated)
          Atomics.compareExchange(this.#shared, Slot.CELL, CELL_TERMINATING, CELL_IDLE);
        const waiting = this.#stops.get(message.token);
        this.#stops.delete(message.token);
        waiting?.reject(interruptFor(message.reason, waiting.timeoutMs));
        return;
      }
      case "diagnostic":
        this.onDiagnostic(message.text);
        return;
      case "exit":
        this.onExit();
        return;
    }
  }
}
