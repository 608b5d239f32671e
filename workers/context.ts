/**
 * The session namespace: a `node:vm` context whose global object holds the user's
 * top-level names. A separate realm keeps user code from clobbering the worker's own
 * globals (its protocol code keeps working whatever a cell does to `Object.prototype`),
 * while Node's globals (timers, Buffer, fetch, process…) are made visible in it the way
 * Node's REPL does for a non-global context.
 */
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { isLazyHostGlobal } from "../src/checkpoint/globals.ts";
import { ModuleRegistry } from "./modules.ts";
import type { DisplayItem } from "./output.ts";
import { displayItem } from "./render.ts";

/** What the worker wires into a context: where output goes and how `input()` is answered. */
export interface ContextIo {
  write(stream: "stdout" | "stderr", text: string): void;
  /** A rich display, its update, or a clear, from `display(value, options)` / `display.clear()`. */
  display(item: DisplayItem): void;
  /** An event-loop cell gets a promise; a blocking cell blocks and gets the string. */
  input(prompt: string): Promise<string> | string;
}

export interface SessionContext {
  readonly context: vm.Context;
  /** The context's global object, i.e. the namespace. */
  readonly global: Record<string, unknown>;
  /** Names that are not the user's: builtins, Node globals and Capsule's protected names. */
  readonly reserved: ReadonlySet<string>;
  /** The user's names, in definition order. */
  userNames(): string[];
  /** Which values came from `require`/`import()` in this context (for checkpoints). */
  readonly modules: ModuleRegistry;
  /** Sets `_` to a cell's value, as Node's REPL does, unless the user took `_` over. */
  recordResult(value: unknown): void;
  /** Sets `_error` to what a cell threw, unless the user took `_error` over. */
  recordError(error: unknown): void;
  /**
   * Defines a Capsule-provided name (a capability) like the protected names: reserved,
   * not writable, not configurable. False when user code holds the name or it cannot be
   * redefined (a non-configurable builtin); nothing changes then.
   */
  protect(name: string, value: unknown): boolean;
}

/** Names Capsule defines in every context and user code cannot replace. */
export const PROTECTED_NAMES = ["input", "display", "require", "console"] as const;

/** Node globals that must not be visible inside a session even though the worker has them. */
const HIDDEN_GLOBALS = new Set(["global", "module", "exports", "__filename", "__dirname"]);

/**
 * Creates a fresh session context. `moduleRoot` is the directory `require` and `import`
 * resolve packages from (the host's project, so installed packages are importable).
 */
export function createSessionContext(options: {
  moduleRoot: string;
  io: ContextIo;
  name?: string;
}): SessionContext {
  const context = vm.createContext(
    {},
    { name: options.name ?? "capsule-session", codeGeneration: { strings: true, wasm: true } },
  );
  const target = vm.runInContext("globalThis", context) as Record<string, unknown>;
  // A fresh context's own names: ECMAScript's globals (and V8's), this realm's own.
  const ecmaScript: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(target));
  const reserved = new Set<string>(ecmaScript);

  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (reserved.has(name) || HIDDEN_GLOBALS.has(name)) continue;
    reserved.add(name);
    if (isLazyHostGlobal(name, ecmaScript)) {
      deferHostGlobal(target, name);
      continue;
    }
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    // Accessors stay lazy (e.g. `crypto`, `navigator` load on first use).
    if (descriptor !== undefined)
      Object.defineProperty(target, name, { ...descriptor, configurable: true });
  }

  const userConsole = new console.Console({
    stdout: outputStream((text) => options.io.write("stdout", text)),
    stderr: outputStream((text) => options.io.write("stderr", text)),
    colorMode: false,
  });

  const modules = new ModuleRegistry(options.moduleRoot);
  const protectedValues: Record<(typeof PROTECTED_NAMES)[number], unknown> = {
    input: (prompt?: unknown) => options.io.input(prompt === undefined ? "" : String(prompt)),
    display: displayFunction(options.io),
    require: modules.trackingRequire(
      createRequire(path.join(options.moduleRoot, "[capsule-cell]")),
    ),
    console: userConsole,
  };
  for (const name of PROTECTED_NAMES) {
    Object.defineProperty(target, name, {
      value: protectedValues[name],
      writable: false,
      enumerable: false,
      configurable: false,
    });
    reserved.add(name);
  }
  // Capsule's until the user takes them over; never in `reserved`, so a user's `_` (say
  // `const _ = require("lodash")`) restores from a checkpoint like any other name.
  const lastValues = [defineLastValue(target, "_"), defineLastValue(target, "_error")];
  const [lastResult, lastError] = lastValues as [LastValue, LastValue];
  const capsuleOwned = (name: string) => lastValues.some((last) => last.owns(name));
  Object.defineProperty(target, "global", {
    value: target,
    writable: true,
    enumerable: false,
    configurable: true,
  });
  reserved.add("global");

  return {
    context,
    global: target,
    reserved,
    modules,
    recordResult: lastResult.record,
    recordError: lastError.record,
    protect: (name, value) => {
      if (Object.hasOwn(target, name) && !reserved.has(name)) return false;
      try {
        Object.defineProperty(target, name, {
          value,
          writable: false,
          enumerable: false,
          configurable: false,
        });
      } catch {
        return false; // a non-configurable builtin: the host is told the grant failed
      }
      reserved.add(name);
      return true;
    },
    userNames: () =>
      Object.getOwnPropertyNames(target).filter(
        (name) => !reserved.has(name) && !capsuleOwned(name),
      ),
  };
}

/**
 * The cell global `display`: `display(value)` shows a value as a MIME bundle (its
 * `[Symbol.for("Jupyter.display")]()` bundle, else text); `display(bundle, { raw: true })`
 * shows a bundle given as such; `{ display_id }` names a display and `{ display_id,
 * update: true }` replaces it; `display.clear(wait?)` clears the cell's output (with
 * `wait`, once the next output arrives), as IPython's `clear_output`. Frozen, since it is
 * the same protected object in every cell.
 */
function displayFunction(io: ContextIo): unknown {
  const display = (value: unknown, options?: unknown): void =>
    io.display(displayItem(value, options));
  display.clear = (wait?: unknown): void =>
    io.display({ action: "clear", data: {}, ...(wait === true ? { wait: true } : {}) });
  return Object.freeze(display);
}

/**
 * The getters Capsule itself defines on the namespace (`_`, `_error`, deferred Node
 * globals): reading one runs no user code, so completion and inspection may follow them.
 */
export const CAPSULE_GETTERS = new WeakSet<() => unknown>();

/**
 * Exposes one of Node's lazily created globals (`FormData`, `Headers`, `TransformStream`;
 * see `isLazyHostGlobal`) without creating it: copying its descriptor would load its
 * module for every session (undici alone is ~40 ms of start and several MiB), though few
 * cells use one. The first read or write puts the real property in place; after that the
 * name behaves as if it had been copied.
 */
function deferHostGlobal(target: Record<string, unknown>, name: string): void {
  const materialize = (): void => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    if (descriptor === undefined) delete target[name];
    else Object.defineProperty(target, name, { ...descriptor, configurable: true });
  };
  const get = (): unknown => {
    materialize();
    return target[name];
  };
  CAPSULE_GETTERS.add(get);
  Object.defineProperty(target, name, {
    get,
    set: (value: unknown) => {
      materialize();
      target[name] = value;
    },
    enumerable: false,
    configurable: true,
  });
}

interface LastValue {
  /** Sets the value, while Capsule owns the name. */
  record(value: unknown): void;
  /** Whether `name` is this one and still Capsule's. */
  owns(name: string): boolean;
}

/**
 * `_` and `_error` as in Node's REPL: an accessor of Capsule's (not a user name, not
 * checkpointed) until a cell assigns the name, which takes it over for good — the
 * assignment replaces the accessor with an ordinary user variable, as does a restore
 * of a user's `_`. Whether Capsule still owns the name is read from the property itself.
 * Unlike the REPL, Capsule says nothing on a take-over: `const _ = require("lodash")` is
 * common in notebooks.
 */
function defineLastValue(target: Record<string, unknown>, name: "_" | "_error"): LastValue {
  let last: unknown;
  const get = () => last;
  CAPSULE_GETTERS.add(get);
  Object.defineProperty(target, name, {
    get,
    set: (value: unknown) =>
      Object.defineProperty(target, name, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      }),
    enumerable: false,
    configurable: true,
  });
  const owned = () => Object.getOwnPropertyDescriptor(target, name)?.get === get;
  return {
    record: (value) => {
      if (owned()) last = value;
    },
    owns: (candidate) => candidate === name && owned(),
  };
}

/**
 * The stream a cell's `console` writes to: each write is handed on at once, in call
 * order. Deliberately not a `stream.Writable`: an interrupted cell is unwound with no
 * `finally` run, and a Writable cut inside `write()` stays "writing" forever, buffering
 * every later line. This sink has no state to leave half-changed. (`listenerCount`,
 * `once` and `removeListener` are what `Console` calls around each write.)
 */
function outputStream(write: (text: string) => void): NodeJS.WritableStream {
  const sink = {
    write(chunk: string | Uint8Array, ...rest: unknown[]): boolean {
      write(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const done = rest.find((item) => typeof item === "function") as (() => void) | undefined;
      done?.();
      return true;
    },
    once: () => sink,
    on: () => sink,
    removeListener: () => sink,
    listenerCount: () => 0,
  };
  return sink as unknown as NodeJS.WritableStream;
}
