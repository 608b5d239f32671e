/**
 * The server's view of promises and tasks, loaded on demand.
 *
 * The SDK's protocol Server keeps every promise and task in a Map and reaches them only
 * by id (`get`, `set`, `delete`; `values()` only for its debug snapshot). The store
 * loads what is live at open (pending promises, unfinished tasks: what recovery and
 * the timeouts need) and lets this Map fetch anything else, a settled execution asked
 * for by id, from the database the first time it is asked for. So open costs what is
 * live, not the history; a finished execution costs one indexed read when it is read
 * again. The database always holds every object (each apply is persisted before its
 * response), so a miss here is a miss there too. Iteration sees only what is loaded:
 * searches read the database instead (search.ts).
 */
export class StoredMap<V> extends Map<string, V> {
  readonly #load: (id: string) => V | undefined;

  constructor(load: (id: string) => V | undefined) {
    super();
    this.#load = load;
  }

  override get(id: string): V | undefined {
    const cached = super.get(id);
    if (cached !== undefined) return cached;
    const loaded = this.#load(id);
    if (loaded !== undefined) super.set(id, loaded);
    return loaded;
  }

  override has(id: string): boolean {
    return this.get(id) !== undefined;
  }
}
