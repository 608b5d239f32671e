/**
 * A Jupyter kernel (messaging protocol 5.3) whose namespace is a durable named session.
 * Shell requests run one at a time, in arrival order; control requests (interrupt,
 * shutdown, kernel_info) are answered at once, also while a cell runs. Every request is
 * framed by `status: busy` and `status: idle` on iopub. A message with a bad signature
 * or a malformed frame is logged and dropped: the kernel never acts on it.
 */
import type * as zmq from "zeromq";
import type { Capsule, NamedSession } from "../../durable/index.ts";
import { CancelledError } from "../errors.ts";
import { Channels } from "./channels.ts";
import type { ConnectionInfo } from "./connection.ts";
import { errorContent, executeRequest } from "./execute.ts";
import { History } from "./history.ts";
import {
  completeReply,
  inspectReply,
  isCompleteReply,
  kernelInfo,
  READ_ONLY_REQUESTS,
} from "./shell-requests.ts";
import { Signer } from "./signing.ts";
import { encodeMessage, type JsonObject, type Message, parseMessage } from "./wire.ts";

export interface KernelOptions {
  connection: ConnectionInfo;
  capsule: Capsule;
  /** The durable session the notebook's cells run in. */
  sessionName: string;
  /** The session's generation (reported as history's session number). */
  generation: number;
  /** Called on a shutdown_request with restart, before the reply: picks what the next process continues. */
  onRestart: () => void;
  /** Where the kernel logs what it drops (stderr: Jupyter shows it in its log). */
  log: (line: string) => void;
  /** Implementation version reported in kernel_info. */
  version: string;
  timeoutMs?: number;
}

interface PendingInput {
  resolve: (value: string) => void;
  reject: (error: unknown) => void;
}

export class Kernel {
  readonly #options: KernelOptions;
  readonly #channels = new Channels();
  readonly #signer: Signer;
  readonly #kernelSession = crypto.randomUUID();
  readonly #session: NamedSession;
  readonly #shellQueue: Message[] = [];
  #history: History | undefined;
  #executionCount = 0;
  #running: AbortController | undefined;
  #pendingInput: PendingInput | undefined;
  #shellBusy = false;
  #stopped: (() => void) | undefined;

  constructor(options: KernelOptions) {
    this.#options = options;
    this.#signer = new Signer(options.connection.key);
    this.#session = options.capsule.session(options.sessionName);
  }

  /** Binds the channels and serves until a shutdown_request; resolves after it. */
  async serve(): Promise<void> {
    const recorded = await this.#recordedHistory();
    this.#history = new History(this.#options.generation, recorded);
    this.#executionCount = recorded.at(-1)?.line ?? 0;
    await this.#channels.bind(this.#options.connection);
    const stopped = new Promise<void>((resolve) => {
      this.#stopped = resolve;
    });
    const loops = [
      this.#channels.echoHeartbeats(),
      this.#channels.receive(this.#channels.shell, (frames) => this.#onShell(frames)),
      this.#channels.receive(this.#channels.control, (frames) => this.#onControl(frames)),
      this.#channels.receive(this.#channels.stdin, (frames) => this.#onStdin(frames)),
    ];
    this.#publish("status", { execution_state: "starting" });
    await Promise.race([stopped, ...loops]);
    await this.#channels.flush();
    this.#channels.close();
    await Promise.allSettled(loops);
  }

  /** Stops the running cell, as an interrupt_request does (the namespace stays). */
  interrupt(): void {
    this.#running?.abort();
  }

  /** Stops serving (a signal to the process): the running cell is cancelled. */
  stop(): void {
    this.#running?.abort();
    this.#stopped?.();
  }

  async #recordedHistory() {
    try {
      const view = await this.#options.capsule.show(`session/${this.#options.sessionName}`);
      return view.cells.map((cell, i) => ({
        line: i + 1,
        code: cell.code ?? "",
        output: cell.result === undefined ? null : cell.result.display,
      }));
    } catch (error) {
      if ((error as { code?: unknown }).code === "DURABLE_NOT_FOUND") return [];
      throw error;
    }
  }

  #parse(frames: Buffer[], channel: string): Message | undefined {
    const parsed = parseMessage(frames, this.#signer);
    if (!parsed.ok) {
      this.#options.log(`dropped a message on ${channel}: ${parsed.reason}`);
      return undefined;
    }
    return parsed.message;
  }

  #send(socket: zmq.Router | zmq.Publisher, frames: Buffer[]): void {
    this.#channels.send(socket, frames).catch((error: unknown) => {
      if (!this.#channels.closed) this.#options.log(`send failed: ${String(error)}`);
    });
  }

  #publish(msgType: string, content: JsonObject, parent?: Message): void {
    // iopub subscribers filter on the first frame (the topic); `kernel.<type>` is the
    // topic ipykernel uses.
    const frames = encodeMessage(
      {
        msgType,
        content,
        ...(parent === undefined ? {} : { parent }),
        identities: [Buffer.from(`kernel.${msgType}`)],
      },
      this.#kernelSession,
      this.#signer,
    );
    this.#send(this.#channels.iopub, frames);
  }

  #reply(socket: zmq.Router, parent: Message, msgType: string, content: JsonObject): void {
    this.#send(
      socket,
      encodeMessage({ msgType, content, parent }, this.#kernelSession, this.#signer),
    );
  }

  #onShell(frames: Buffer[]): void {
    const message = this.#parse(frames, "shell");
    if (message === undefined) return;
    if (this.#shellBusy && READ_ONLY_REQUESTS.has(message.header.msg_type)) {
      // Completion while a cell runs is answered now, from the live namespace, not after
      // the cell. No busy/idle around it: the kernel is busy with the cell, and an idle
      // here would tell the frontend otherwise.
      void this.#handleShell(message).catch((error: unknown) => this.#replyFailure(message, error));
      return;
    }
    this.#shellQueue.push(message);
    if (!this.#shellBusy) void this.#drainShell();
  }

  async #drainShell(): Promise<void> {
    this.#shellBusy = true;
    try {
      for (
        let message = this.#shellQueue.shift();
        message !== undefined;
        message = this.#shellQueue.shift()
      ) {
        this.#publish("status", { execution_state: "busy" }, message);
        try {
          await this.#handleShell(message);
        } catch (error) {
          this.#replyFailure(message, error);
        }
        this.#publish("status", { execution_state: "idle" }, message);
      }
    } finally {
      this.#shellBusy = false;
    }
  }

  /** The frontend waits for a reply: it gets the failure instead of a hang. */
  #replyFailure(message: Message, error: unknown): void {
    this.#options.log(
      `${message.header.msg_type} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    const type = message.header.msg_type;
    if (!type.endsWith("_request")) return;
    this.#reply(this.#channels.shell, message, `${type.slice(0, -"_request".length)}_reply`, {
      status: "error",
      ...errorContent(error),
    });
  }

  async #handleShell(message: Message): Promise<void> {
    const shell = this.#channels.shell;
    const content = message.content;
    switch (message.header.msg_type) {
      case "kernel_info_request":
        this.#reply(shell, message, "kernel_info_reply", this.#kernelInfo());
        return;
      case "execute_request":
        await this.#execute(message);
        return;
      case "complete_request":
        this.#reply(shell, message, "complete_reply", await completeReply(this.#session, content));
        return;
      case "inspect_request":
        this.#reply(shell, message, "inspect_reply", await inspectReply(this.#session, content));
        return;
      case "is_complete_request":
        this.#reply(shell, message, "is_complete_reply", isCompleteReply(content));
        return;
      case "history_request":
        this.#reply(shell, message, "history_reply", {
          status: "ok",
          history: this.#history?.answer(content) ?? [],
        });
        return;
      case "comm_info_request":
        this.#reply(shell, message, "comm_info_reply", { status: "ok", comms: {} });
        return;
      case "comm_open":
        // No comm targets: the spec's answer to an unknown target is closing the comm.
        this.#publish("comm_close", { comm_id: content.comm_id ?? "", data: {} }, message);
        return;
      case "comm_msg":
      case "comm_close":
        return;
      case "shutdown_request":
        this.#shutdown(shell, message);
        return;
      default:
        this.#options.log(`ignored an unknown shell request ${message.header.msg_type}`);
    }
  }

  async #execute(message: Message): Promise<void> {
    const storeHistory = message.content.store_history !== false && message.content.silent !== true;
    const count = storeHistory ? this.#executionCount + 1 : this.#executionCount;
    const controller = new AbortController();
    this.#running = controller;
    try {
      const outcome = await executeRequest({
        session: this.#session,
        request: message,
        executionCount: count,
        signal: controller.signal,
        io: {
          publish: (type, content, parent) => this.#publish(type, content, parent),
          input: (prompt, parent, signal) => this.#input(prompt, parent, signal),
        },
        ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
      });
      if (storeHistory) {
        this.#executionCount = count;
        if (outcome.history !== undefined) this.#history?.add(outcome.history);
      }
      this.#reply(this.#channels.shell, message, "execute_reply", outcome.reply);
      if (outcome.failed && message.content.stop_on_error !== false) this.#abortQueuedExecutes();
    } finally {
      this.#running = undefined;
    }
  }

  /** After a failed cell, the cells queued behind it do not run (as in ipykernel). */
  #abortQueuedExecutes(): void {
    const kept: Message[] = [];
    for (const queued of this.#shellQueue.splice(0)) {
      if (queued.header.msg_type !== "execute_request") {
        kept.push(queued);
        continue;
      }
      this.#publish("status", { execution_state: "busy" }, queued);
      this.#reply(this.#channels.shell, queued, "execute_reply", {
        status: "aborted",
        execution_count: this.#executionCount,
      });
      this.#publish("status", { execution_state: "idle" }, queued);
    }
    this.#shellQueue.push(...kept);
  }

  #input(prompt: string, parent: Message, signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (signal.aborted) {
        reject(new CancelledError("the cell was interrupted"));
        return;
      }
      const onAbort = () => {
        this.#pendingInput = undefined;
        reject(new CancelledError("the cell was interrupted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#pendingInput = {
        resolve: (value) => {
          signal.removeEventListener("abort", onAbort);
          resolve(value);
        },
        reject,
      };
      this.#send(
        this.#channels.stdin,
        encodeMessage(
          { msgType: "input_request", content: { prompt, password: false }, parent },
          this.#kernelSession,
          this.#signer,
        ),
      );
    });
  }

  #onStdin(frames: Buffer[]): void {
    const message = this.#parse(frames, "stdin");
    if (message === undefined) return;
    if (message.header.msg_type !== "input_reply") {
      this.#options.log(`ignored ${message.header.msg_type} on stdin`);
      return;
    }
    const pending = this.#pendingInput;
    if (pending === undefined) {
      this.#options.log("ignored an input_reply no input_request was waiting for");
      return;
    }
    this.#pendingInput = undefined;
    const value = message.content.value;
    pending.resolve(typeof value === "string" ? value : "");
  }

  #onControl(frames: Buffer[]): void {
    const message = this.#parse(frames, "control");
    if (message === undefined) return;
    const control = this.#channels.control;
    this.#publish("status", { execution_state: "busy" }, message);
    switch (message.header.msg_type) {
      case "interrupt_request":
        // The cell stops; the session keeps its namespace (a cancel, not a restart).
        this.#running?.abort();
        this.#reply(control, message, "interrupt_reply", { status: "ok" });
        break;
      case "kernel_info_request":
        this.#reply(control, message, "kernel_info_reply", this.#kernelInfo());
        break;
      case "shutdown_request":
        this.#shutdown(control, message);
        break;
      default:
        this.#options.log(`ignored an unknown control request ${message.header.msg_type}`);
    }
    this.#publish("status", { execution_state: "idle" }, message);
  }

  #shutdown(socket: zmq.Router, message: Message): void {
    const restart = message.content.restart === true;
    if (restart) this.#options.onRestart();
    this.#running?.abort();
    this.#reply(socket, message, "shutdown_reply", { status: "ok", restart });
    this.#stopped?.();
  }

  #kernelInfo(): JsonObject {
    return kernelInfo(this.#options.version, this.#options.sessionName);
  }
}
