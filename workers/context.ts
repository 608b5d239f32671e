/**
 * The session namespace: a `node:vm` context whose global object holds the user's
 * top-level names. A separate realm keeps user code from clobbering the worker's own
 * globals (its protocol code keeps working whatever a cell does to `Object.prototype`),
 * while Node's globals (timers, Buffer, fetch, process…) are made visible in it the way
 * Node's REPL does for a non-global context.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { Writable } from "node:stream";
import vm from "node:vm";
import { ModuleRegistry } from "./modules.ts";

/** What the worker wires into a context: where output goes and how `input()` is answered. */
export interface ContextIo {
  write(stream: "stdout" | "stderr", text: string): void;
  display(value: unknown): void;
  /** Async executor: returns a promise; threaded executor: blocks its thread and returns a string. */
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
  const reserved = new Set<string>(Object.getOwnPropertyNames(target));

  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (reserved.has(name) || HIDDEN_GLOBALS.has(name)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
    if (descriptor === undefined) continue;
    // Accessors stay lazy (e.g. `fetch`, `crypto`, `navigator` load on first use).
    Object.defineProperty(target, name, { ...descriptor, configurable: true });
    reserved.add(name);
  }

  const userConsole = new console.Console({
    stdout: outputStream((text) => options.io.write("stdout", text)),
    stderr: outputStream((text) => options.io.write("stderr", text)),
    colorMode: false,
  });

  const modules = new ModuleRegistry(options.moduleRoot);
  const protectedValues: Record<(typeof PROTECTED_NAMES)[number], unknown> = {
    input: (prompt?: unknown) => options.io.input(prompt === undefined ? "" : String(prompt)),
    display: (value: unknown) => options.io.display(value),
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
    userNames: () => Object.getOwnPropertyNames(target).filter((name) => !reserved.has(name)),
  };
}

/** A writable that hands each write on at once (a console's writes arrive in order). */
function outputStream(write: (text: string) => void): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      write(typeof chunk === "string" ? chunk : chunk.toString("utf8"));
      callback();
    },
  });
}
