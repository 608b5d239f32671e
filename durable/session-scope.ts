/**
 * The durable sessions of executions running in this process, by execution id.
 *
 * A scope outlives one pass (a suspended execution resumes with a new pass) and ends
 * when the durable function returns or throws. When a pass suspends (on a sleep or a
 * promise), its sessions go back to the pool once their cells finish: the next pass
 * restores them from the recorded checkpoint instead of holding a worker while waiting.
 */
import type { SessionPool } from "../src/session/index.ts";
import { SessionSlot } from "./session-slot.ts";

export class SessionScope {
  readonly #pool: SessionPool;
  readonly #slots = new Map<string, SessionSlot>();

  constructor(pool: SessionPool) {
    this.#pool = pool;
  }

  slot(name: string): SessionSlot {
    let slot = this.#slots.get(name);
    if (slot === undefined) {
      slot = new SessionSlot(this.#pool);
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

  constructor(pool: SessionPool) {
    this.#pool = pool;
  }

  /** The scope of execution `id`, created on first use. */
  open(id: string): SessionScope {
    let scope = this.#scopes.get(id);
    if (scope === undefined) {
      scope = new SessionScope(this.#pool);
      this.#scopes.set(id, scope);
    }
    return scope;
  }

  /** The execution finished: its sessions go back to the pool. */
  close(id: string): void {
    this.#scopes.get(id)?.releaseWhenIdle();
    this.#scopes.delete(id);
  }

  /** Every scope's sessions go back to the pool (the passes suspended or Capsule closes). */
  releaseAll(): void {
    for (const scope of this.#scopes.values()) scope.releaseWhenIdle();
  }
}
