/**
 * The initiator's connection management: connect, log on, and when the connection is
 * lost reconnect with exponential backoff. A run of failed logon attempts (connection
 * refused, no Logon answer, a Logout instead) is bounded: after `maxLogonAttempts` in a
 * row the initiator stops for good with FIX_LOGON_ATTEMPTS_EXHAUSTED, a circuit
 * breaker rather than a loop. A successful logon starts the count again.
 */
import net from "node:net";
import { type Clock, systemClock } from "./clock.ts";
import { FixError } from "./errors.ts";
import type { FixSession } from "./session.ts";
import { bindSocket } from "./transport.ts";

export interface InitiatorOptions {
  host?: string;
  port: number;
  /** Failed logon attempts in a row before giving up. Default 100. */
  maxLogonAttempts?: number;
  /** Wait after the first failure, doubled on each next one up to `maxBackoffMs`. Default 100 ms. */
  initialBackoffMs?: number;
  /** Default 5000 ms. */
  maxBackoffMs?: number;
  clock?: Clock;
  onAttempt?(attempt: number, error: Error | undefined): void;
}

export class FixInitiator {
  readonly #session: FixSession;
  readonly #options: InitiatorOptions;
  readonly #clock: Clock;
  #stopped = false;
  #wakeUp: (() => void) | undefined;
  #socket: net.Socket | undefined;
  #resetting: Promise<void> | undefined;

  constructor(session: FixSession, options: InitiatorOptions) {
    this.#session = session;
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Runs until `stop()`; each lost connection is re-established.
   * @throws FixError (FIX_LOGON_ATTEMPTS_EXHAUSTED) after too many failed logons in a row.
   */
  async run(): Promise<void> {
    const max = this.#options.maxLogonAttempts ?? 100;
    let failures = 0;
    let lastError: Error | undefined;
    while (!this.#stopped) {
      await this.#resetting;
      try {
        await this.#logOn();
        failures = 0;
        this.#options.onAttempt?.(failures, undefined);
        await this.#session.whenEnded();
        continue; // reconnect at once after a session that worked
      } catch (error) {
        lastError = error instanceof Error ? error : new Error(String(error));
        failures++;
        this.#options.onAttempt?.(failures, lastError);
      }
      if (this.#stopped) break;
      if (failures >= max) {
        throw new FixError(
          "FIX_LOGON_ATTEMPTS_EXHAUSTED",
          `gave up after ${failures} failed logon attempts in a row to ${this.#options.host ?? "127.0.0.1"}:${this.#options.port}; last: ${lastError?.message}`,
          { cause: lastError },
        );
      }
      const initial = this.#options.initialBackoffMs ?? 100;
      const backoff = Math.min(this.#options.maxBackoffMs ?? 5000, initial * 2 ** (failures - 1));
      await new Promise<void>((resolve) => {
        const cancel = this.#clock.after(backoff, resolve);
        this.#wakeUp = () => {
          cancel();
          resolve();
        };
      });
      this.#wakeUp = undefined;
    }
  }

  /**
   * The daily reset: logs out, starts a new period in the store, and lets `run()` log on
   * again, with MsgSeqNum 1 and ResetSeqNumFlag=Y.
   */
  async resetSequence(): Promise<void> {
    const work = (async () => {
      if (this.#session.state === "active") await this.#session.logout("daily sequence reset");
      else this.#socket?.destroy(); // a logon in progress starts again after the reset
      await this.#session.reset();
    })();
    this.#resetting = work;
    try {
      await work;
    } finally {
      this.#resetting = undefined;
    }
  }

  /** Logs out (if logged on), and ends `run()` without reconnecting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wakeUp?.();
    if (this.#session.state === "active") await this.#session.logout("initiator stopping");
    this.#socket?.destroy();
  }

  async #logOn(): Promise<void> {
    const socket = net.connect({
      host: this.#options.host ?? "127.0.0.1",
      port: this.#options.port,
    });
    this.#socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    if (this.#stopped) {
      socket.destroy();
      throw new FixError("FIX_SESSION_ENDED", "initiator stopped");
    }
    await bindSocket(this.#session, socket);
  }
}
