/**
 * The server's view of promises and tasks, loaded on demand.
 *
 * The SDK's protocol Server keeps every promise and task in a Map and reaches them by id
 * (`get`, `set`, `delete`), except two scans of every promise it holds (a task fulfilled
 * drops its callbacks; a task acquired preloads its branch), which only need what is live
 * or running, and `values()` for its debug snapshot. The store
 * loads what is live at open (pending promises, unfinished tasks: what recovery and
 * the timeouts need) and lets this Map fetch anything else, a settled execution asked
 * for by id, from the database the first time it is asked for. So open costs what is
 * live, not the history; a finished execution costs one indexed read when it is read
 * again. The database always holds every object (each apply is persisted before its
 * response), so a miss here is a miss there too. Iteration sees only what is loaded:
 * searches read the database instead (search.ts). What a finished branch left here is
 * dropped once committed (settled-branches.ts), so memory holds live work only.
 *
 * Misses are remembered too: every new step looks up ids that exist nowhere yet (its
 * promise when created, its task when settled), a read each. The database gains a row
 * only from this map (the store persists what the server set), so an id stays absent
 * until `set`; the memory of misses is bounded by forgetting them all at once.
 */
const ABSENT_LIMIT = 4096;

export class StoredMap<V> extends Map<string, V> {
  readonly #load: (id: string) => V | undefined;
  readonly #absent = new Set<string>();

  constructor(load: (id: string) => V | undefined) {
    super();
    this.#load = load;
  }

  override get(id: string): V | undefined {
    const cached = super.get(id);
    if (cached !== undefined || this.#absent.has(id)) return cached;
    const loaded = this.#load(id);
    if (loaded !== undefined) super.set(id, loaded);
    else {
      if (this.#absent.size >= ABSENT_LIMIT) this.#absent.clear();
      this.#absent.add(id);
    }
    return loaded;
  }

  override set(id: string, value: V): this {
    this.#absent.delete(id);
    return super.set(id, value);
  }

  override has(id: string): boolean {
    return this.get(id) !== undefined;
  }
}
