/**
 * The main thread's side of the service thread (see service-thread.ts): starts it, sends
 * the worker's messages through it in call order, and gives the cell runner the three
 * things that need the other thread: the interrupt guard around a cell's synchronous
 * part, the stop notice of a cell, and a synchronous `input()`.
 */
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import type { HostMessage, MessageOf, WorkerMessage } from "../../src/protocol/messages.ts";
import { CellInterrupt } from "../errors.ts";
import {
  CELL_IDLE,
  CELL_TERMINATING,
  type FromService,
  INPUT_IDLE,
  INPUT_WAITING,
  type InputAnswer,
  type ServiceConfig,
  type ServiceData,
  SHARED_SLOTS,
  Slot,
  type StopReason,
  stoppedMarker,
  type ToService,
} from "./service-protocol.ts";

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
  /** The cell `token` ended: the service thread drops its deadline. */
  cellDone(token: number): void;
  /** Sends an `input` request and blocks this thread until the host answers it. */
  askInputSync(message: MessageOf<"input">): InputAnswer;
  /** Reported in heartbeats. */
  setNamespaceSize(size: number): void;
}

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
  readonly #shared = new Int32Array(new SharedArrayBuffer(SHARED_SLOTS * 4));
  readonly #answers: MessagePort;
  readonly #stops = new Map<
    number,
    { reject(interrupt: CellInterrupt): void; timeoutMs: number }
  >();
  /** A host message; an `execute` carries its cell's token. */
  onHost: (message: HostMessage, token: number | undefined) => void = () => {};
  onDiagnostic: (text: string) => void = () => {};
  /** The host asked us to exit, or is gone. */
  onExit: () => void = () => {};
  /** The service thread itself failed: the worker cannot talk to its host any more. */
  onFailure: (error: Error) => void = () => {};

  constructor(config: ServiceConfig) {
    const { port1, port2 } = new MessageChannel();
    this.#answers = port1;
    const data: ServiceData = {
      config,
      shared: this.#shared.buffer as SharedArrayBuffer,
      answers: port2,
      parentPid: process.ppid,
    };
    // Not unref'd: this thread owns the frame pipe, which is what keeps the worker alive.
    this.#thread = new Worker(new URL("./service-thread.ts", import.meta.url), {
      workerData: data,
      transferList: [port2],
    });
    this.#thread.on("message", (message: FromService) => this.#receive(message));
    this.#thread.on("error", (error: unknown) =>
      this.onFailure(error instanceof Error ? error : new Error(String(error))),
    );
    this.#thread.on("exit", (code) =>
      this.onFailure(new Error(`the service thread exited with code ${code}`)),
    );
  }

  send(message: WorkerMessage): void {
    this.#post({ type: "send", message });
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

  cellDone(token: number): void {
    this.#stops.delete(token);
    this.#post({ type: "cell_done", token });
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
        this.onHost(message.message, message.token);
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
