/**
 * Routes the store's outgoing messages to connected clients by the address the SDK gave:
 * `poll://uni@{group}/{pid}` is for that process only; `poll://any@{group}/{pid}` is for
 * that process if it is connected, else for any process of the group; `poll://any@{group}`
 * (what the SDK makes of `target: "group"`) is for any process of the group. A message nobody
 * can take yet waits: an anycast one for the next client of its group, a unicast one for
 * its process. Each message comes with `delivered`, called once a client's stream took it
 * (or it can never be delivered): the store keeps it until then, so that a restart of
 * serve delivers it again (durable/store/outbox.ts).
 */
import type { Message } from "@resonatehq/sdk";

export interface Client {
  group: string;
  pid: string;
  /**
   * Sends the message; calls `delivered` once it was handed to the connection, or
   * `failed` when the connection refused it (it is closing).
   */
  deliver(message: Message, delivered: () => void, failed: () => void): void;
}

interface Waiting {
  message: Message;
  address: string;
  delivered: () => void;
}

interface Address {
  anycast: boolean;
  group: string;
  pid: string;
}

const MAX_WAITING = 1024;

const POLL_ADDRESS = /^poll:\/\/(uni|any)@([^/]+)(?:\/(.*))?$/;

export function parseAddress(address: string): Address | undefined {
  const match = POLL_ADDRESS.exec(address);
  if (match === null) return undefined;
  return {
    anycast: match[1] === "any",
    group: decodeURIComponent(match[2] ?? ""),
    pid: decodeURIComponent(match[3] ?? ""),
  };
}

export class MessageRouter {
  readonly #clients = new Set<Client>();
  readonly #waiting = new Map<string, Waiting[]>();
  #next = 0;

  connect(client: Client): () => void {
    this.#clients.add(client);
    for (const key of [anyKey(client.group), uniKey(client.group, client.pid)]) {
      const waiting = this.#waiting.get(key) ?? [];
      this.#waiting.delete(key);
      for (const { message, address, delivered } of waiting)
        this.#send(client, message, address, delivered);
    }
    return () => this.#clients.delete(client);
  }

  route(message: Message, address: string, delivered: () => void = () => {}): void {
    const target = parseAddress(address);
    // Not a poll address: no client of this server can ever take it.
    if (target === undefined) {
      delivered();
      return;
    }
    const group = [...this.#clients].filter((client) => client.group === target.group);
    const exact = group.find((client) => client.pid === target.pid);
    if (exact !== undefined) {
      this.#send(exact, message, address, delivered);
      return;
    }
    if (target.anycast && group.length > 0) {
      const chosen = group[this.#next++ % group.length];
      if (chosen !== undefined) this.#send(chosen, message, address, delivered);
      return;
    }
    const key = target.anycast ? anyKey(target.group) : uniKey(target.group, target.pid);
    const waiting = this.#waiting.get(key) ?? [];
    // Bounded: a process that never comes back must not grow this (nor the store's
    // table); the server re-sends a task's execute message on its retry timeout anyway.
    if (waiting.length >= MAX_WAITING) waiting.shift()?.delivered();
    waiting.push({ message, address, delivered });
    this.#waiting.set(key, waiting);
  }

  // A connection that refuses a message is closing: it takes no more, and the message is
  // routed again (to another client of the group, or to wait for the next one).
  #send(client: Client, message: Message, address: string, delivered: () => void): void {
    client.deliver(message, delivered, () => {
      this.#clients.delete(client);
      this.route(message, address, delivered);
    });
  }
}

const anyKey = (group: string) => `any ${group}`;
const uniKey = (group: string, pid: string) => `uni ${group}/${pid}`;
