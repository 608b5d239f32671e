/**
 * The acceptor: one listening socket for several counterparties. Each connection's
 * first message names its session (SenderCompID/TargetCompID); a connection for a
 * session nobody configured, or for one already connected, is closed at once.
 */

import type { AddressInfo } from "node:net";
import net from "node:net";
import { Tag } from "./codec.ts";
import { FixParser } from "./parser.ts";
import type { FixSession } from "./session.ts";
import { bindSocket } from "./transport.ts";

export interface AcceptorOptions {
  host?: string;
  /** Default 0: any free port (see `listen()`'s result). */
  port?: number;
  /** Called when a connection is refused, with why. */
  onRefused?(reason: string): void;
}

export class FixAcceptor {
  readonly #sessions = new Map<string, FixSession>();
  readonly #options: AcceptorOptions;
  readonly #sockets = new Set<net.Socket>();
  readonly #server: net.Server;

  /** `sessions`: one per counterparty, each with our CompID as sender and theirs as target. */
  constructor(sessions: readonly FixSession[], options: AcceptorOptions = {}) {
    for (const session of sessions) {
      this.#sessions.set(
        `${session.options.targetCompId}->${session.options.senderCompId}`,
        session,
      );
    }
    this.#options = options;
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  /** Starts listening; resolves with the port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.#options.port ?? 0, this.#options.host ?? "127.0.0.1", () => {
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Logs out every connected counterparty, then stops listening. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#sessions.values()]
        .filter((s) => s.state === "active")
        .map((s) => s.logout("acceptor closing")),
    );
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    const parser = new FixParser();
    const chunks: Buffer[] = [];
    const refuse = (reason: string) => {
      this.#options.onRefused?.(reason);
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const first = parser.push(chunk).find((e) => e.kind === "message");
      if (first?.kind !== "message") {
        if (parser.buffered > 64 * 1024) refuse("no FIX message in the first 64 KiB");
        return;
      }
      socket.off("data", onData);
      const key = `${first.message.get(Tag.SenderCompID)}->${first.message.get(Tag.TargetCompID)}`;
      const session = this.#sessions.get(key);
      if (session === undefined) return refuse(`no session ${key}`);
      if (session.state !== "disconnected") return refuse(`session ${key} is already connected`);
      // The session's own parser reads the first message again, with what followed it.
      bindSocket(session, socket, Buffer.concat(chunks)).catch(() => {});
    };
    socket.on("data", onData);
    socket.on("error", () => {}); // a connection reset before logon is just a closed socket
  }
}
