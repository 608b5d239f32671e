// A Jupyter client written for the tests, over real ZeroMQ sockets: it signs what it
// sends, checks the signature of what it receives, and lets a test wait for replies and
// iopub messages by their parent request (never by time).
import { createHmac, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as zmq from "zeromq";

export interface JupyterMessage {
  header: { msg_id: string; msg_type: string; session: string };
  parent_header: { msg_id?: string; msg_type?: string };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  channel: "shell" | "control" | "stdin" | "iopub";
}

type Channel = "shell" | "control" | "stdin";
const DELIMITER = "<IDS|MSG>";

/** Writes a connection file using ipc endpoints under `dir` (no port can collide). */
export function writeConnectionFile(
  dir: string,
  key: string = randomUUID(),
): { file: string; key: string } {
  const file = path.join(dir, `kernel-${randomUUID()}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      transport: "ipc",
      ip: path.join(dir, "k"),
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      key,
      signature_scheme: "hmac-sha256",
      kernel_name: "capsule",
    }),
  );
  return { file, key };
}

export class JupyterClient {
  readonly #key: string;
  readonly #session = randomUUID();
  readonly #base: string;
  readonly shell = new zmq.Dealer({ linger: 0 });
  readonly control = new zmq.Dealer({ linger: 0 });
  readonly stdin = new zmq.Dealer({ linger: 0 });
  readonly iopub = new zmq.Subscriber({ linger: 0 });
  readonly heartbeat = new zmq.Request({ linger: 0 });
  /** Everything received, in arrival order. */
  readonly received: JupyterMessage[] = [];
  /** Frames that arrived with a bad signature (the kernel must never send one). */
  readonly badlySigned: Buffer[][] = [];
  readonly #listeners = new Set<() => void>();
  #closed = false;

  constructor(connection: { file: string; key: string }) {
    this.#key = connection.key;
    const info = JSON.parse(fs.readFileSync(connection.file, "utf8")) as { ip: string };
    this.#base = info.ip;
    const routingId = `test-${randomUUID()}`;
    this.shell.routingId = routingId;
    this.stdin.routingId = routingId;
    this.shell.connect(`ipc://${this.#base}-1`);
    this.iopub.connect(`ipc://${this.#base}-2`);
    this.stdin.connect(`ipc://${this.#base}-3`);
    this.control.connect(`ipc://${this.#base}-4`);
    this.heartbeat.connect(`ipc://${this.#base}-5`);
    this.iopub.subscribe();
    for (const [socket, channel] of [
      [this.shell, "shell"],
      [this.control, "control"],
      [this.stdin, "stdin"],
      [this.iopub, "iopub"],
    ] as const) {
      void this.#receive(socket, channel);
    }
  }

  sign(parts: Buffer[]): string {
    const hmac = createHmac("sha256", this.#key);
    for (const part of parts) hmac.update(part);
    return hmac.digest("hex");
  }

  /** Signed frames of a request (a test may tamper with them before `sendFrames`). */
  frames(
    msgType: string,
    content: Record<string, unknown>,
    parent: object = {},
  ): { id: string; frames: Buffer[] } {
    const id = randomUUID();
    const header = {
      msg_id: id,
      msg_type: msgType,
      session: this.#session,
      username: "test",
      date: new Date().toISOString(),
      version: "5.3",
    };
    const parts = [header, parent, {}, content].map((part) => Buffer.from(JSON.stringify(part)));
    return { id, frames: [Buffer.from(DELIMITER), Buffer.from(this.sign(parts)), ...parts] };
  }

  async sendFrames(channel: Channel, frames: Buffer[]): Promise<void> {
    await this[channel].send(frames);
  }

  /** Sends a request; returns its msg_id. */
  async send(
    channel: Channel,
    msgType: string,
    content: Record<string, unknown> = {},
    parent: object = {},
  ): Promise<string> {
    const { id, frames } = this.frames(msgType, content, parent);
    await this.sendFrames(channel, frames);
    return id;
  }

  /** Sends a request and waits for its reply on the same channel. */
  async request(
    channel: Channel,
    msgType: string,
    content: Record<string, unknown> = {},
  ): Promise<JupyterMessage> {
    const id = await this.send(channel, msgType, content);
    return this.reply(id);
  }

  reply(id: string): Promise<JupyterMessage> {
    return this.waitFor(
      (m) =>
        m.channel !== "iopub" &&
        m.parent_header.msg_id === id &&
        m.header.msg_type.endsWith("_reply"),
    );
  }

  /** Messages on iopub caused by request `id`, in order. */
  iopubOf(id: string): JupyterMessage[] {
    return this.received.filter((m) => m.channel === "iopub" && m.parent_header.msg_id === id);
  }

  /** Resolves when request `id` is done: its iopub `status: idle` arrived. */
  idle(id: string): Promise<JupyterMessage> {
    return this.waitFor(
      (m) =>
        m.channel === "iopub" &&
        m.parent_header.msg_id === id &&
        m.header.msg_type === "status" &&
        m.content.execution_state === "idle",
    );
  }

  /** Runs code: resolves with the reply and the iopub messages up to idle. */
  async execute(
    code: string,
    options: Record<string, unknown> = {},
  ): Promise<{ reply: JupyterMessage; iopub: JupyterMessage[] }> {
    const id = await this.send("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
      ...options,
    });
    const [reply] = await Promise.all([this.reply(id), this.idle(id)]);
    return { reply, iopub: this.iopubOf(id) };
  }

  /**
   * Waits until iopub is connected: PUB drops what it sends before a subscriber joined,
   * so kernel_info requests are sent, one after another, until iopub delivers anything.
   */
  async ready(): Promise<JupyterMessage> {
    let joined = false;
    void this.waitFor((m) => m.channel === "iopub").then(() => {
      joined = true;
    });
    let reply = await this.request("shell", "kernel_info_request");
    while (!joined) reply = await this.request("shell", "kernel_info_request");
    return reply;
  }

  /** Sends a heartbeat and waits for its echo. */
  async ping(payload = "ping"): Promise<string> {
    await this.heartbeat.send(payload);
    const [echo] = await this.heartbeat.receive();
    return echo?.toString() ?? "";
  }

  waitFor(match: (message: JupyterMessage) => boolean): Promise<JupyterMessage> {
    const found = this.received.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => {
      const listener = () => {
        const hit = this.received.find(match);
        if (hit === undefined) return;
        this.#listeners.delete(listener);
        resolve(hit);
      };
      this.#listeners.add(listener);
    });
  }

  async #receive(
    socket: zmq.Dealer | zmq.Subscriber,
    channel: JupyterMessage["channel"],
  ): Promise<void> {
    try {
      for (;;) {
        const frames = await socket.receive();
        const at = frames.findIndex((frame) => frame.toString() === DELIMITER);
        const [signature, ...parts] = frames.slice(at + 1, at + 6);
        if (signature === undefined || signature.toString() !== this.sign(parts)) {
          this.badlySigned.push(frames);
          continue;
        }
        const [header, parent, metadata, content] = parts.map((part) =>
          JSON.parse(part.toString()),
        );
        this.received.push({ header, parent_header: parent, metadata, content, channel });
        for (const listener of [...this.#listeners]) listener();
      }
    } catch (error) {
      if (!this.#closed) throw error;
    }
  }

  close(): void {
    this.#closed = true;
    for (const socket of [this.shell, this.control, this.stdin, this.iopub, this.heartbeat])
      socket.close();
  }
}
