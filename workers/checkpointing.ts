/**
 * When the worker checkpoints, and how much: a full checkpoint first (and after a
 * restore or reset), then increments holding only the names a cell may have changed.
 * A cell that calls a namespace function may change anything that function reaches, so
 * it gets a full checkpoint; so does a chain that has grown longer or heavier than a
 * full checkpoint would be.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import type * as CheckpointCodec from "../src/checkpoint/index.ts";
import type { EncodedNamespace, NamespaceCheckpointer } from "../src/checkpoint/index.ts";
import type { CheckpointPayload } from "../src/protocol/messages.ts";
import type { SessionContext } from "./context.ts";
import type { ModuleRegistry } from "./modules.ts";

/** A `new URL` of a module: the worker build rewrites it to the emitted `.js` file. */
const CODEC_MODULE = new URL("../src/checkpoint/index.ts", import.meta.url);
let codecModule: typeof CheckpointCodec | undefined;

/**
 * The checkpoint codec (and msgpack under it): off the start-up path (tens of ms), loaded
 * once the worker is ready and idle, or by the first checkpoint or restore if that comes
 * sooner. A capture runs synchronously after a cell, so the module is loaded with
 * `require` (synchronous for an ES module without top-level await).
 */
export function loadCheckpointCodec(): typeof CheckpointCodec {
  codecModule ??= createRequire(import.meta.url)(
    fileURLToPath(CODEC_MODULE),
  ) as typeof CheckpointCodec;
  return codecModule;
}

/** Increments allowed after a full checkpoint before the next one is full again. */
const MAX_CHAIN_LENGTH = 32;

export class Checkpointing {
  #session: SessionContext;
  readonly #modules: () => ModuleRegistry;
  readonly #maxBytes: number;
  #checkpointer: NamespaceCheckpointer | undefined;
  #names = new Set<string>();
  #chainLength = 0;
  #fullBytes = 0;
  #incrementBytes = 0;
  /** A capture or restore ran: the realm may hold user code now (see `warm`). */
  #used = false;
  /** A checkpoint was sent or restored: the host's chain may hold names now. */
  #heldNames = false;

  constructor(options: {
    session: SessionContext;
    modules: () => ModuleRegistry;
    maxBytes: number;
  }) {
    this.#session = options.session;
    this.#modules = options.modules;
    this.#maxBytes = options.maxBytes;
  }

  /**
   * Idle time before the first cell: one full encode and one decode of a small sample made
   * in the session's realm, so that V8 compiles the codec's functions (lazily, on first
   * call) now rather than on the first cell's checkpoint or a restore. Reads and changes no
   * name of the namespace; done only while no cell or restore has run (user code could
   * have patched the realm's built-ins the decoder uses, e.g. `JSON.parse`).
   */
  async warm(): Promise<void> {
    if (this.#used) return;
    const codec = loadCheckpointCodec();
    const sample = vm.runInContext(
      "({ n: 1, s: 'x', list: [1, 2, 3], rows: [{ a: 1 }, { a: 2 }], at: new Date(0), m: new Map([[1, 'a']]) })",
      this.#session.context,
    ) as Record<string, unknown>;
    const encoded = new codec.NamespaceCheckpointer(this.#encodeOptions()).full(
      codec.readNamespace(sample, Object.keys(sample)),
    );
    if (this.#used) return;
    await codec.applyCheckpoints([encoded.data], this.#session.context, {
      loadModule: this.#modules().load,
      importModuleDynamically: this.#modules().dynamicImport,
    });
  }

  /** Forget everything: the next capture is full. Used after a restore or a reset. */
  rebase(session: SessionContext): void {
    this.#session = session;
    this.#checkpointer = undefined;
  }

  /**
   * `declared`/`used`: the names of the cell just run; unknown names are ignored. Returns
   * undefined for an increment in which no name can have changed (`1 + 1`): nothing to send.
   */
  capture(
    scope: "full" | { declared: readonly string[]; used: readonly string[] },
  ): CheckpointPayload | undefined {
    this.#used = true;
    // A cell that names nothing (`1 + 1`) cannot have changed a name: skip listing and
    // reading the whole namespace (a timer's change is taken with the next cell that can).
    // Before the first checkpoint (none sent, none restored) the host's chain is empty,
    // which restores an empty namespace: such a cell sends nothing either, and the codec
    // (~5 MiB) stays unloaded until a cell names something.
    if (
      scope !== "full" &&
      scope.declared.length === 0 &&
      scope.used.length === 0 &&
      (this.#checkpointer === undefined ? !this.#heldNames : !this.#needsFull(scope.used))
    )
      return undefined;
    const names = this.#session.userNames();
    if (scope !== "full" && !this.#heldNames && names.length === 0) return undefined;
    this.#heldNames = true;
    // Descriptors, never `global[name]`: a getter on the global must not run because
    // Capsule takes a checkpoint (it is captured as its getter/setter functions).
    const { readNamespace, NamespaceCheckpointer } = loadCheckpointCodec();
    const entries = readNamespace(this.#session.global, names);
    const current = new Set(names);
    const removed = [...this.#names].filter((name) => !current.has(name));
    this.#names = current;

    const checkpointer = this.#checkpointer;
    if (checkpointer === undefined || scope === "full" || this.#needsFull(scope.used)) {
      const fresh = new NamespaceCheckpointer(this.#encodeOptions());
      const encoded = fresh.full(entries);
      this.#checkpointer = fresh;
      this.#chainLength = 0;
      this.#fullBytes = encoded.bytes;
      this.#incrementBytes = 0;
      return this.#message(encoded, false, []);
    }
    const changed = [...scope.declared, ...scope.used].filter((name) => current.has(name));
    if (changed.length === 0 && removed.length === 0) return undefined;
    const encoded = checkpointer.incremental(entries, changed, removed);
    this.#chainLength++;
    this.#incrementBytes += encoded.bytes;
    return this.#message(encoded, true, encoded.removed);
  }

  /** Restores a chain into the current context, merging key by key. */
  async restore(
    chain: readonly Uint8Array[],
  ): Promise<{ names: string[]; failed: { name: string; reason: string }[] }> {
    this.#used = true;
    this.#heldNames = true;
    // Modules come back the way the cell got them (require or import), recorded again.
    const { applyCheckpoints, assignNamespace } = loadCheckpointCodec();
    const decoded = await applyCheckpoints(chain, this.#session.context, {
      loadModule: this.#modules().load,
      importModuleDynamically: this.#modules().dynamicImport,
    });
    for (const [name, value] of decoded.values) {
      if (!this.#session.reserved.has(name)) assignNamespace(this.#session.global, name, value);
    }
    this.#checkpointer = undefined;
    return { names: [...decoded.values.keys()], failed: decoded.failed };
  }

  #needsFull(used: readonly string[]): boolean {
    if (this.#chainLength >= MAX_CHAIN_LENGTH) return true;
    if (this.#incrementBytes > this.#fullBytes) return true;
    const global = this.#session.global;
    // Calling a namespace function can change any name it reaches; so can reading a name
    // that is a getter. Descriptors tell which without running the getter.
    return used.some((name) => {
      if (this.#session.reserved.has(name)) return false;
      const descriptor = Reflect.getOwnPropertyDescriptor(global, name);
      return (
        descriptor !== undefined &&
        (!("value" in descriptor) || typeof descriptor.value === "function")
      );
    });
  }

  #encodeOptions() {
    return {
      maxBytes: this.#maxBytes,
      moduleOf: (value: unknown) => this.#modules().refOf(value),
      contextGlobals: this.#session.reserved,
    };
  }

  #message(encoded: EncodedNamespace, incremental: boolean, removed: string[]): CheckpointPayload {
    return {
      version: loadCheckpointCodec().CHECKPOINT_VERSION,
      incremental,
      data: encoded.data,
      removed,
      uncaptured: encoded.uncaptured,
    };
  }
}
