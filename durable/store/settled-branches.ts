/**
 * Lets the server's memory forget finished work once it is committed.
 *
 * The server's maps (stored-map.ts) load a missing id from the database, but nothing
 * ever left them: every promise and task a process created stayed in memory for the
 * process's life, and the pinned SDK's server scans every promise in memory when a task
 * is fulfilled (`triggerFulfilled`) and when a task is acquired (`preload`), so each
 * execution cost more than the one before (measured: a `ctx.run` step 116 µs after 30
 * executions, spending more than half its time in those scans after 1,500).
 *
 * A *branch* is what the SDK tags `resonate:branch`: a root execution or a remote child
 * and the local steps it ran. While its head is pending, its settled steps stay in
 * memory (`preload` hands them to a resumed execution, saving a read each). Once the
 * commit that settles the head is done, the branch's settled promises and fulfilled
 * tasks are dropped from memory; they stay in the database, from which a later `get`
 * (a result asked for again, a replay) loads them. A promise settled after its head
 * (a step left running) is dropped when its own settlement commits.
 *
 * Only committed objects are dropped, and only settled ones: a pending promise may hold
 * callbacks and listeners that live nowhere else but memory until they are written, and
 * the server reaches it by scanning, which a database row cannot answer.
 */
import type { ProtocolServer, ServerPromise, ServerTask } from "./sdk.ts";
import type { TouchedObjects } from "./touched.ts";

const BRANCH_TAG = "resonate:branch";

export class SettledBranches {
  readonly #server: ProtocolServer;
  /** Per branch head still pending: the committed promises of its branch held in memory. */
  readonly #members = new Map<string, Set<string>>();

  constructor(server: ProtocolServer) {
    this.#server = server;
  }

  /** Branches whose head is pending, for tests and benchmarks. */
  get openBranches(): number {
    return this.#members.size;
  }

  /** After a commit: forgets what it finished (the touched objects are on disk now). */
  committed(touched: TouchedObjects): void {
    const settledHeads: string[] = [];
    for (const id of touched.promises) {
      const promise = this.#peekPromise(id);
      if (promise === undefined) continue;
      const head = promise.tags[BRANCH_TAG] ?? id;
      if (head === id) {
        if (isSettled(promise)) settledHeads.push(id);
        else this.#membersOf(id).add(id);
        continue;
      }
      const headPromise = this.#peekPromise(head);
      // A head not in memory is settled: a pending promise is always held (store-reads.ts).
      if (headPromise === undefined || isSettled(headPromise)) this.#drop(id);
      else this.#membersOf(head).add(id);
    }
    for (const head of settledHeads) {
      for (const id of this.#members.get(head) ?? []) this.#drop(id);
      this.#members.delete(head);
      this.#drop(head);
    }
  }

  #membersOf(head: string): Set<string> {
    let members = this.#members.get(head);
    if (members === undefined) {
      members = new Set();
      this.#members.set(head, members);
    }
    return members;
  }

  /** Drops a settled promise, and its task once fulfilled, from memory (not from disk). */
  #drop(id: string): void {
    const promise = this.#peekPromise(id);
    if (promise !== undefined && isSettled(promise) && isDetached(promise)) {
      Map.prototype.delete.call(this.#server.promises, id);
    }
    const task = Map.prototype.get.call(this.#server.tasks, id) as ServerTask | undefined;
    if (task?.state === "fulfilled") Map.prototype.delete.call(this.#server.tasks, id);
  }

  /** What memory holds for `id`, without loading it from the database. */
  #peekPromise(id: string): ServerPromise | undefined {
    return Map.prototype.get.call(this.#server.promises, id) as ServerPromise | undefined;
  }
}

function isSettled(promise: ServerPromise): boolean {
  return promise.state !== "pending";
}

/** No task waits on it and no one listens: nothing in memory refers to it any more. */
function isDetached(promise: ServerPromise): boolean {
  return promise.callbacks.size === 0 && promise.listeners.size === 0;
}
