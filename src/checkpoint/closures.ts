/**
 * Reads a function's captured scopes through V8's inspector, in this thread, without
 * running any user code.
 *
 * `Runtime.getProperties` on a function lists the internal property `[[Scopes]]`: one
 * entry per scope of its chain, innermost first, each `{ description, object }` where
 * `object` holds the scope's context-allocated variables (the ones some closure uses)
 * with their current values. `Script` and `Global` scopes are the namespace itself and
 * resolve by name; `Closure`, `Block` and `Catch` scopes are captured.
 *
 * Which closures share one scope is not visible there (every read gives new objects).
 * The precise source is a heap snapshot: each JSFunction has a `context` edge to its
 * Context, each Context a `previous` edge to the enclosing one. A snapshot is costly
 * (hundreds of ms, see test/bench/checkpoint.bench.ts), so the encoder asks for one
 * only when two captured scopes look alike (same label, names and values) and could be
 * one; the context ids it yields never change for a function and are cached.
 *
 * Same-thread `inspector.Session#post` answers synchronously, which keeps the codec's
 * encode synchronous. `v8.writeHeapSnapshot` is synchronous too (the inspector's
 * `HeapProfiler.takeHeapSnapshot` is not, on Node 26), so the snapshot goes through a
 * temporary file under `os.tmpdir()` (the worker's own directory), removed at once.
 */
import inspector from "node:inspector";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import { fs } from "../builtins.ts";
import { Uncapturable } from "./functions.ts";
import { HeapContexts } from "./heap-contexts.ts";

/** One captured scope of a closure, as it is now. */
export interface CapturedScope {
  /** The inspector's description: `Closure (makeCounter)`, `Block`, `Catch`. */
  label: string;
  variables: Array<[string, unknown]>;
}

type Fn = (...args: never[]) => unknown;

interface RemoteObject {
  objectId?: string;
  description?: string;
}

interface PropertyList {
  result: Array<{ name: string; value?: RemoteObject }>;
  internalProperties?: Array<{ name: string; value?: RemoteObject }>;
}

const OBJECT_GROUP = "capsule-checkpoint";
/**
 * Largest heap worth a snapshot: its JSON is several times the heap and is read back as one
 * string, so a big heap would risk the worker's memory limit (and V8's string limit).
 * Above it, lookalike closures are reported uncaptured instead.
 */
const MAX_SNAPSHOT_HEAP_BYTES = 192 * 1024 * 1024;
const CAPTURED_KINDS = ["Closure", "Block", "Catch"];
const NAMESPACE_KINDS = ["Script", "Global"];
/** Identifiers a factory can declare with `let` (V8 may list internal names too). */
const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** The scope reader of this thread; undefined when the inspector cannot be used here. */
let shared: ScopeReader | { unavailable: string } | undefined;

export function scopeReader(): ScopeReader | { unavailable: string } {
  if (shared === undefined) {
    try {
      shared = new ScopeReader();
    } catch (error) {
      shared = { unavailable: error instanceof Error ? error.message : String(error) };
    }
  }
  return shared;
}

/** Same-thread inspector session plus the caches that survive between encodes. */
export class ScopeReader {
  private readonly session = new inspector.Session();
  /** Functions known to capture nothing (their chain is Script/Global only). */
  private readonly plain = new WeakSet<object>();
  /** How many captured scopes each closure has (fixed for its lifetime). */
  private readonly depths = new WeakMap<object, number>();
  /** Heap ids of each function's contexts, innermost first (stable for its lifetime). */
  private readonly contexts = new WeakMap<object, string[]>();
  /** A host object the inspector can name, to pass values in and out without user code. */
  private readonly bridge: { value: unknown } = { value: undefined };
  private readonly bridgeId: string;
  /** This encode's heap snapshot, once one was needed. */
  private heap: HeapContexts | undefined;
  private readonly tokens = new Map<string, object>();
  /** Milliseconds of each heap snapshot taken (take + parse), for the benchmark. */
  readonly snapshotMs: number[] = [];

  constructor() {
    this.session.connect();
    const key = Symbol.for("capsule.checkpoint.bridge");
    const host = globalThis as Record<symbol, unknown>;
    host[key] = this.bridge;
    try {
      const found = this.post<{ result: RemoteObject }>("Runtime.evaluate", {
        expression: 'globalThis[Symbol.for("capsule.checkpoint.bridge")]',
        objectGroup: "capsule-bridge",
      });
      if (found.result.objectId === undefined) throw new Error("the inspector gave no object id");
      this.bridgeId = found.result.objectId;
    } finally {
      delete host[key];
    }
  }

  private post<T>(method: string, params: Record<string, unknown> = {}): T {
    let answer: { error: Error | null; result: unknown } | undefined;
    this.session.post(method, params, (error, result) => {
      answer = { error, result };
    });
    if (answer === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
    if (answer.error !== null) throw answer.error;
    return answer.result as T;
  }

  private remoteOf(value: unknown): string {
    this.bridge.value = value;
    try {
      const { result } = this.post<{ result: RemoteObject }>("Runtime.callFunctionOn", {
        objectId: this.bridgeId,
        functionDeclaration: "function () { return this.value; }",
        objectGroup: OBJECT_GROUP,
      });
      if (result.objectId === undefined) throw new Error("the inspector gave no object id");
      return result.objectId;
    } finally {
      this.bridge.value = undefined;
    }
  }

  /**
   * The own string keys of `value` that are not array indices (`length` included for an
   * array), read by V8 without materializing the index keys: for a long array this is
   * a fixed ~50 µs where `Reflect.ownKeys` builds one string per element. Symbol keys
   * are not listed (`Object.getOwnPropertySymbols` finds those cheaply). Reads names
   * only; no getter, and nothing of a Proxy (the caller passes none), runs.
   */
  namedKeysOf(value: object): string[] {
    const own = this.post<{ result: Array<{ name: string; symbol?: RemoteObject }> }>(
      "Runtime.getProperties",
      {
        objectId: this.remoteOf(value),
        ownProperties: true,
        nonIndexedPropertiesOnly: true,
        objectGroup: OBJECT_GROUP,
      },
    );
    return own.result.filter((p) => p.symbol === undefined).map((p) => p.name);
  }

  /** The JS value of a remote object (through the bridge; nothing of the value runs). */
  private valueOf(objectId: string): unknown {
    this.post("Runtime.callFunctionOn", {
      objectId,
      functionDeclaration: "function (bridge) { bridge.value = this; }",
      arguments: [{ objectId: this.bridgeId }],
      objectGroup: OBJECT_GROUP,
    });
    const value = this.bridge.value;
    this.bridge.value = undefined;
    return value;
  }

  /**
   * The captured scopes of `fn`, innermost first (empty for a function that captures
   * nothing). Throws `Uncapturable` for scopes that cannot be re-created.
   */
  scopesOf(fn: Fn): CapturedScope[] {
    if (this.plain.has(fn)) return [];
    const own = this.post<PropertyList>("Runtime.getProperties", {
      objectId: this.remoteOf(fn),
      ownProperties: true,
    });
    const scopesId = own.internalProperties?.find((p) => p.name === "[[Scopes]]")?.value?.objectId;
    if (scopesId === undefined) return [];
    // The scope list is a real array of `{ description, object }`: one round trip for all.
    const list = this.valueOf(scopesId);
    if (!Array.isArray(list)) throw new Error("the inspector's [[Scopes]] is not a list");
    const captured: CapturedScope[] = [];
    // A null-prototype array (not iterable); its entries are the inspector's own objects.
    for (let i = 0; i < list.length; i++) {
      const entry: unknown = list[i];
      const { description, object } = (entry ?? {}) as { description?: unknown; object?: unknown };
      const label = typeof description === "string" ? description : "";
      const kind = label.split(" ")[0] ?? "";
      if (NAMESPACE_KINDS.includes(kind)) continue;
      if (!CAPTURED_KINDS.includes(kind)) {
        throw new Uncapturable(`closes over a ${kind} scope, which cannot be re-created`);
      }
      captured.push({ label, variables: variablesOf(object) });
    }
    if (captured.length === 0) this.plain.add(fn);
    else this.depths.set(fn, captured.length);
    return captured;
  }

  /** Cached context ids of `fn`'s captured scopes, innermost first, once resolved. */
  knownContexts(fn: Fn): string[] | undefined {
    const ids = this.contexts.get(fn);
    const depth = this.depths.get(fn);
    return ids === undefined || depth === undefined ? undefined : ids.slice(0, depth);
  }

  /**
   * The context ids of `fn`, innermost first, from this encode's heap snapshot (taken on
   * the first call of an encode; no user code runs during an encode, so it stays true).
   * Throws `Uncapturable` when the snapshot cannot be taken or does not show `fn`.
   */
  resolveContexts(fn: Fn): string[] {
    const known = this.contexts.get(fn);
    if (known !== undefined) return known;
    if (this.heap === undefined) this.heap = this.takeSnapshot();
    // Asked after the snapshot: an object gets its heap id when a snapshot first sees it.
    const id = this.post<{ heapSnapshotObjectId: string }>("HeapProfiler.getHeapObjectId", {
      objectId: this.remoteOf(fn),
    }).heapSnapshotObjectId;
    const chain = this.heap.chainOf(Number(id));
    if (chain === undefined) {
      throw new Uncapturable("cannot tell which closures share a scope: not in the heap snapshot");
    }
    const ids = chain.map(String);
    this.contexts.set(fn, ids);
    return ids;
  }

  private takeSnapshot(): HeapContexts {
    const heapBytes = process.memoryUsage().heapUsed;
    if (heapBytes > MAX_SNAPSHOT_HEAP_BYTES) {
      throw new Uncapturable(
        `cannot tell which closures share a scope: the heap (${Math.round(heapBytes / 2 ** 20)} MiB) is too large for a heap snapshot`,
      );
    }
    this.post("HeapProfiler.enable");
    const started = performance.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-heap-"));
    try {
      const file = v8.writeHeapSnapshot(path.join(dir, "scopes.heapsnapshot"));
      const heap = new HeapContexts(fs.readFileSync(file, "utf8"));
      this.snapshotMs.push(performance.now() - started);
      return heap;
    } catch (error) {
      throw new Uncapturable(
        `cannot tell which closures share a scope: the heap snapshot failed (${error instanceof Error ? error.message : String(error)})`,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A stable object standing for one heap context (incremental checkpoints key on it). */
  tokenFor(contextId: string): object {
    let token = this.tokens.get(contextId);
    if (token === undefined) {
      token = {};
      this.tokens.set(contextId, token);
    }
    return token;
  }

  /** Ends one encode: lets go of its remote objects and its heap snapshot. */
  release(): void {
    this.heap = undefined;
    this.post("Runtime.releaseObjectGroup", { objectGroup: OBJECT_GROUP });
  }
}

/** The variables of one scope's holder object (the inspector's copy of the scope). */
function variablesOf(holder: unknown): Array<[string, unknown]> {
  if (typeof holder !== "object" || holder === null) return [];
  const variables: Array<[string, unknown]> = [];
  for (const name of Object.getOwnPropertyNames(holder)) {
    if (!IDENTIFIER.test(name) || name === "arguments") continue;
    const descriptor = Object.getOwnPropertyDescriptor(holder, name)!;
    if (!("value" in descriptor)) {
      throw new Uncapturable(`closes over "${name}", which is not initialized yet`);
    }
    variables.push([name, descriptor.value]);
  }
  return variables;
}
