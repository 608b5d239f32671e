/**
 * The kernel's five ZeroMQ sockets, bound to the connection file's endpoints: shell and
 * control (ROUTER: requests and replies), stdin (ROUTER: input requests to the frontend),
 * iopub (PUB: broadcasts), heartbeat (REP: echoes). Sends are queued per socket, since
 * a zeromq socket allows one pending send at a time.
 */
import * as zmq from "zeromq";
import { type ConnectionInfo, endpoint } from "./connection.ts";

type Frames = Buffer[];

/** How long closing sockets may still deliver queued messages to connected peers. */
const FLUSH_LINGER_MS = 1_000;

class SendQueue {
  readonly #socket: zmq.Router | zmq.Publisher;
  #tail: Promise<void> = Promise.resolve();

  constructor(socket: zmq.Router | zmq.Publisher) {
    this.#socket = socket;
  }

  send(frames: Frames): Promise<void> {
    const next = this.#tail.then(() => this.#socket.send(frames));
    this.#tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once everything queued so far was handed to ZeroMQ. */
  drained(): Promise<void> {
    return this.#tail;
  }
}

export class Channels {
  readonly shell = new zmq.Router({ linger: 0 });
  readonly control = new zmq.Router({ linger: 0 });
  readonly stdin = new zmq.Router({ linger: 0 });
  readonly iopub = new zmq.Publisher({ linger: 0 });
  readonly heartbeat = new zmq.Reply({ linger: 0 });
  readonly #queues = new Map<zmq.Router | zmq.Publisher, SendQueue>();
  #closed = false;

  async bind(info: ConnectionInfo): Promise<void> {
    await Promise.all([
      this.shell.bind(endpoint(info, "shell")),
      this.control.bind(endpoint(info, "control")),
      this.stdin.bind(endpoint(info, "stdin")),
      this.iopub.bind(endpoint(info, "iopub")),
      this.heartbeat.bind(endpoint(info, "hb")),
    ]);
  }

  send(socket: zmq.Router | zmq.Publisher, frames: Frames): Promise<void> {
    let queue = this.#queues.get(socket);
    if (queue === undefined) {
      queue = new SendQueue(socket);
      this.#queues.set(socket, queue);
    }
    return queue.send(frames);
  }

  /** Echoes heartbeats until the sockets close: a frontend's liveness check. */
  async echoHeartbeats(): Promise<void> {
    try {
      for (;;) {
        const frames = await this.heartbeat.receive();
        await this.heartbeat.send(frames);
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /** Calls `handle` for each message on a ROUTER socket, until the sockets close. */
  async receive(socket: zmq.Router, handle: (frames: Frames) => void): Promise<void> {
    try {
      for (;;) handle(await socket.receive());
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  /**
   * Waits until queued messages were handed to ZeroMQ (a shutdown_reply must leave
   * before the sockets close), then gives ZeroMQ a short linger to put them on the wire.
   */
  async flush(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((queue) => queue.drained()));
    for (const socket of [this.shell, this.control, this.stdin, this.iopub]) {
      socket.linger = FLUSH_LINGER_MS;
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat]) {
      socket.close();
    }
  }
}
