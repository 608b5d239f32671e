/**
 * Acquirers of a pool waiting for a session, first come first served: each waits until it
 * is served, its time runs out (POOL_ACQUIRE_TIMEOUT, retryable) or its signal aborts.
 */
import { CapsuleError, SessionStateError } from "../errors.ts";
import type { Session } from "./session.ts";

export interface Waiter {
  resolve(session: Session): void;
  reject(error: Error): void;
}

export class WaiterQueue {
  readonly #waiters: Waiter[] = [];

  get length(): number {
    return this.#waiters.length;
  }

  /** The longest-waiting acquirer, no longer waiting. */
  shift(): Waiter | undefined {
    return this.#waiters.shift();
  }

  /** Waits for a session while all `maxSessions` of the pool are leased. */
  wait(timeoutMs: number, maxSessions: number, signal: AbortSignal | undefined): Promise<Session> {
    return new Promise<Session>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (session) => {
          cleanup();
          resolve(session);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.#remove(waiter);
        reject(
          new CapsuleError(
            "POOL_ACQUIRE_TIMEOUT",
            `no session became free within ${timeoutMs} ms (${maxSessions} sessions leased)`,
            { retryable: true },
          ),
        );
      }, timeoutMs);
      const onAbort = () => {
        this.#remove(waiter);
        cleanup();
        reject(new SessionStateError("POOL_CLOSED", "acquire was aborted"));
      };
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Rejects every waiter with `error` (the pool closed). */
  rejectAll(error: Error): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }

  #remove(waiter: Waiter): void {
    const index = this.#waiters.indexOf(waiter);
    if (index !== -1) this.#waiters.splice(index, 1);
  }
}
