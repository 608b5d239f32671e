/**
 * Routes the store's outgoing messages to connected clients by the address the SDK gave:
 * `poll://uni@{group}/{pid}` is for that process only; `poll://any@{group}/{pid}` is for
 * that process if it is connected, else for any process of the group; `poll://any@{group}`
 * (what the SDK makes of `target: "group"`) is for any process of the group. A message nobody
 * can take yet waits: an anycast one for the next client of its group, a unicast one for
 * its process (the server re-sends tasks later anyway; there is no reason to wait).
 */
import type { Message } from "@resonatehq/sdk";

export interface Client {
  group: string;
  pid: string;
  deliver(message: Message): void;
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
  readonly #waiting = new Map<string, Message[]>();
  #next = 0;

  connect(client: Client): () => void {
    this.#clients.add(client);
    for (const key of [anyKey(client.group), uniKey(client.group, client.pid)]) {
      const waiting = this.#waiting.get(key) ?? [];
      this.#waiting.delete(key);
      for (const message of waiting) client.deliver(message);
    }
    return () => this.#clients.delete(client);
  }

  route(message: Message, address: string): void {
    const target = parseAddress(address);
    // Not a poll address: no client of this server can take it.
    if (target === undefined) return;
    const group = [...this.#clients].filter((client) => client.group === target.group);
    const exact = group.find((client) => client.pid === target.pid);
    if (exact !== undefined) {
      exact.deliver(message);
      return;
    }
    if (target.anycast && group.length > 0) {
      const chosen = group[this.#next++ % group.length];
      chosen?.deliver(message);
      return;
    }
    const key = target.anycast ? anyKey(target.group) : uniKey(target.group, target.pid);
    const waiting = this.#waiting.get(key) ?? [];
    // Bounded: a process that never comes back must not grow this; the server re-sends
    // a task's execute message when its lease runs out, so an old one can go.
    if (waiting.length >= MAX_WAITING) waiting.shift();
    waiting.push(message);
    this.#waiting.set(key, waiting);
  }
}

const anyKey = (group: string) => `any ${group}`;
const uniKey = (group: string, pid: string) => `uni ${group}/${pid}`;
