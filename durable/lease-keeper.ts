/**
 * Keeps this process's task leases alive against a remote server.
 *
 * The SDK heartbeats only tasks it took from an `execute` message; a task it created and
 * acquired itself with `run()` gets none, so against a server a function running longer
 * than its lease is handed to another process while it still runs. (The embedded store
 * does this itself, for the one process that owns it.) This network wraps another: it
 * notes the tasks this pid acquires, forgets them when released, suspended or
 * fulfilled, and sends `task.heartbeat` for them three times per lease.
 */
import { randomUUID } from "node:crypto";
import type { Message, Network, Request, Response } from "@resonatehq/sdk";

type Send = Network["send"];

export class LeaseKeeper implements Network {
  readonly send: Send;
  readonly #network: Network;
  readonly #inner: Send;
  readonly #pid: string;
  readonly #held = new Map<string, number>();
  /** The protocol version the SDK speaks, as seen on its requests. */
  #version = "";
  #timer: NodeJS.Timeout | undefined;

  constructor(network: Network, pid: string, leaseMs: number) {
    this.#network = network;
    const inner = network.send;
    this.#inner = inner;
    this.#pid = pid;
    this.send = (async (request: Request) => {
      const response = await inner(request as never);
      this.#observe(request, response as Response);
      return response;
    }) as Send;
    this.#timer = setInterval(() => this.#heartbeat(), Math.max(100, Math.floor(leaseMs / 3)));
    this.#timer.unref();
  }

  /** Tasks this process holds a lease on, by id (the value is the task version). */
  get held(): ReadonlyMap<string, number> {
    return this.#held;
  }

  get unicast(): string {
    return this.#network.unicast;
  }

  get anycast(): string {
    return this.#network.anycast;
  }

  match(target: string): string {
    return this.#network.match(target);
  }

  init(): Promise<void> {
    return this.#network.init();
  }

  recv(callback: (message: Message) => void): void {
    this.#network.recv(callback);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
    await this.#network.stop();
  }

  #observe(request: Request, response: Response): void {
    this.#version = request.head.version;
    if (response.head.status !== 200) return;
    switch (request.kind) {
      case "task.create":
      case "task.acquire": {
        const task = (
          response.data as { task?: { id: string; version: number; state: string; pid?: string } }
        ).task;
        if (task?.state === "acquired" && task.pid === this.#pid)
          this.#held.set(task.id, task.version);
        return;
      }
      case "task.release":
      case "task.suspend":
      case "task.fulfill":
        this.#held.delete(request.data.id);
        return;
      default:
        return;
    }
  }

  #heartbeat(): void {
    if (this.#held.size === 0) return;
    const tasks = [...this.#held].map(([id, version]) => ({ id, version }));
    // A failed heartbeat is retried by the next tick; the lease has two more ticks of slack.
    this.#inner({
      kind: "task.heartbeat",
      head: { corrId: randomUUID(), version: this.#version },
      data: { pid: this.#pid, tasks },
    }).catch(() => undefined);
  }
}
