/**
 * Group commit: the changes of every request applied in the same turn of the event loop
 * (and of ticks) are persisted by one transaction (one fsync with `machine`), run on
 * `setImmediate`. A request waiting for the group is answered only once that
 * transaction committed; if it fails, every waiting request of the group is refused.
 *
 * Changes whose response was already released (early-answer.ts) join the group too,
 * with nobody waiting: they are committed with it, or with the next one.
 */
import type { StoreError } from "../../src/errors.ts";
import type { ServerChange } from "./sdk.ts";
import { collectTouched, emptyTouched, type TouchedObjects } from "./touched.ts";

/** Requests applied in memory, waiting for the one transaction that persists them all. */
interface PendingGroup {
  touched: TouchedObjects;
  /** Why each change was made (request kinds), for the error of a failed commit. */
  causes: Set<string>;
  acknowledge: (() => void)[];
  refuse: ((error: StoreError) => void)[];
}

/**
 * Persists what a group touched; returns the error that stopped the store, or undefined
 * once it committed.
 */
export type GroupWriter = (cause: string, touched: TouchedObjects) => StoreError | undefined;

export class GroupCommit {
  #pending: PendingGroup | undefined;
  #timer: NodeJS.Immediate | undefined;
  readonly #write: GroupWriter;
  readonly #committed: () => void;

  /** `committed` runs after each group that committed, once its requests were answered. */
  constructor(write: GroupWriter, committed: () => void) {
    this.#write = write;
    this.#committed = committed;
  }

  /** What the pending group touched so far; undefined when nothing is waiting for a commit. */
  get pending(): TouchedObjects | undefined {
    return this.#pending?.touched;
  }

  /** Adds applied changes to the pending group, scheduling its commit if it is the first. */
  add(
    changes: readonly ServerChange[],
    cause: string,
    acknowledge?: () => void,
    refuse?: (error: StoreError) => void,
  ): void {
    if (this.#pending === undefined) {
      this.#pending = { touched: emptyTouched(), causes: new Set(), acknowledge: [], refuse: [] };
      this.#timer = setImmediate(() => this.commitNow());
    }
    collectTouched(changes, this.#pending.touched);
    this.#pending.causes.add(cause);
    if (acknowledge !== undefined) this.#pending.acknowledge.push(acknowledge);
    if (refuse !== undefined) this.#pending.refuse.push(refuse);
  }

  /** Persists the pending group now, then answers (or refuses) its requests. */
  commitNow(): void {
    if (this.#timer !== undefined) clearImmediate(this.#timer);
    this.#timer = undefined;
    const group = this.#pending;
    if (group === undefined) return;
    this.#pending = undefined;
    const failure = this.#write([...group.causes].join(", "), group.touched);
    if (failure !== undefined) {
      for (const refuse of group.refuse) refuse(failure);
      return;
    }
    for (const acknowledge of group.acknowledge) acknowledge();
    this.#committed();
  }
}
