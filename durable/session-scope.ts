/**
 * The durable sessions of executions running in this process, by execution id.
 *
 * A scope outlives one pass (a suspended execution resumes with a new pass) and ends
 * when the durable function returns or throws. When a pass suspends (on a sleep or a
 * promise), its sessions go back to the pool once their cells finish: the next pass
 * restores them from the recorded checkpoint instead of holding a worker while waiting.
 */
import type { Reservation, SessionPool } from "../src/session/index.ts";
import { SessionSlot } from "./session-slot.ts";

export class SessionScope {
  readonly #pool: SessionPool;
  readonly #reserve: () => Reservation;
  readonly #slots = new Map<string, SessionSlot>();

  /** `reserve`: where a slot's `prepare()` gets its worker (default: a new pool reservation). */
  constructor(pool: SessionPool, reserve: () => Reservation = () => pool.reserve()) {
    this.#pool = pool;
    this.#reserve = reserve;
  }

  slot(name: string): SessionSlot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = new SessionSlot(this.#pool, this.#reserve);
      this.#slots.set(name, slot);
    }
    return slot;
  }

  /** Releases every session once its cells in flight are done. */
  releaseWhenIdle(): void {
    for (const slot of this.#slots.values()) slot.releaseWhenIdle();
  }
}

export class SessionScopes {
  readonly #pool: SessionPool;
  readonly #scopes = new Map<string, SessionScope>();
  /** A worker started for recovered work before any of its passes began (see `expectResume`). */
  #spare: Reservation | undefined;
  readonly #reserve = (): Reservation => {
    const spare = this.#spare;
    this.#spare = undefined;
    return spare ?? this.#pool.reserve();
  };

  constructor(pool: SessionPool) {
    this.#pool = pool;
  }

  /**
   * Recovered work is waiting (an execution to resume was delivered before the gate
   * opened): start a worker now, while the process is still loading and replaying, for the
   * first durable session a pass opens. Given back if the passes end without taking it.
   */
  expectResume(): void {
    this.#spare ??= this.#pool.reserve();
  }

  /** The scope of execution `id`, created on first use. */
  open(id: string): SessionScope {
    let scope = this.#scopes.get(id);
    if (scope === undefined) {
      scope = new SessionScope(this.#pool, this.#reserve);
      this.#scopes.set(id, scope);
    }
    return scope;
  }

  /** The execution finished: its sessions go back to the pool. */
  close(id: string): void {
    this.#scopes.get(id)?.releaseWhenIdle();
    this.#scopes.delete(id);
    // The recovered passes ended (or used no session): nothing is left to take the spare.
    if (this.#scopes.size === 0) this.#dropSpare();
  }

  /** Every scope's sessions go back to the pool (the passes suspended or Capsule closes). */
  releaseAll(): void {
    for (const scope of this.#scopes.values()) scope.releaseWhenIdle();
    this.#dropSpare();
  }

  #dropSpare(): void {
    this.#spare?.cancel();
    this.#spare = undefined;
  }
}
