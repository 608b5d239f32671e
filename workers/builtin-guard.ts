/**
 * Closes what Node's permission model leaves open inside a session worker, before any
 * cell runs in any of its threads.
 *
 * - `node:sqlite` opens database files itself, outside the permission model's file
 *   checks: with `--permission` denying `fs` on a path, `new DatabaseSync(path)` still
 *   reads and writes it, and `VACUUM INTO` creates files anywhere. It is unavailable
 *   unless the session grants `permissions.sqlite`, through every path: `require`,
 *   `import`, `import()` and `Module._load` (a `module.registerHooks` resolve hook, which
 *   sees every resolution of this thread whatever realm asked), and
 *   `process.getBuiltinModule` (which bypasses the hooks, so it is wrapped). The `process`
 *   object is the same one a cell reaches through `this.constructor.constructor`, so the
 *   wrapped function is the one every realm gets.
 * - `inspector.open()` listens on a TCP port even without `--allow-net`: it is denied
 *   unless the network is granted. (In-process inspector sessions stay available: Capsule
 *   uses them, and they give a cell nothing the cell does not already have.)
 * - Denied network calls get a message that names the session option, where Node's does
 *   not (`fetch failed`, `getaddrinfo ERR_ACCESS_DENIED localhost`).
 *
 * - `process.kill` reaches only the worker's own pid unless child processes are granted.
 *
 * Hooks belong to one thread. The worker's main thread imports this file once its
 * service thread is on its way (session-main.ts: that thread runs only Capsule's code,
 * and need not wait for this one) and before it loads anything that runs a cell; every
 * thread started after that gets this file as a `--require`, with this thread's policy
 * and permission flags, whatever `execArgv` and `env` its creator passed (see
 * `guardWorkerThreads`).
 *
 * The policy comes from `CAPSULE_BUILTIN_GRANTS` (comma-separated, e.g. `sqlite`), read
 * once when this file loads, before user code exists; changing the variable later
 * changes nothing. Unknown or absent means nothing granted.
 */
import dgram from "node:dgram";
import dns from "node:dns";
import inspector from "node:inspector";
import inspectorPromises from "node:inspector/promises";
import module from "node:module";
import net from "node:net";
import { fileURLToPath } from "node:url";
import workerThreads from "node:worker_threads";
import { withProcessPermissions } from "./thread-flags.ts";

/** The environment variable that carries the policy into the worker and its threads. */
export const GRANTS_ENV = "CAPSULE_BUILTIN_GRANTS";

/** Built-ins denied unless granted, with why and the option that grants each. */
const GUARDED_BUILTINS: ReadonlyMap<string, { grant: string; why: string }> = new Map([
  [
    "node:sqlite",
    {
      grant: "sqlite",
      why: "it opens database files itself, outside the permission model's file checks",
    },
  ],
]);

const GUARD_PATH = fileURLToPath(import.meta.url);
const grants = new Set((process.env[GRANTS_ENV] ?? "").split(",").filter(Boolean));
// Read once; cells need not see it (threads get it from guardWorkerThreads).
delete process.env[GRANTS_ENV];
const netGranted = process.permission?.has("net") ?? true;

/** A Node-style permission error, like the ones the permission model throws. */
function accessDenied(message: string, permission: string): Error {
  return Object.assign(new Error(message), { code: "ERR_ACCESS_DENIED", permission });
}

/** Throws unless the built-in at `url` (`node:name`) is allowed in this session. */
function assertBuiltinAllowed(url: string): void {
  const guarded = GUARDED_BUILTINS.get(url);
  if (guarded === undefined || grants.has(guarded.grant)) return;
  throw accessDenied(
    `${url} is not available in this session: ${guarded.why}. ` +
      `Grant it with the session option permissions.${guarded.grant}.`,
    guarded.grant,
  );
}

function guardModuleResolution(): void {
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      // Checked on the resolved URL: `require("sqlite")` may be an npm package.
      if (resolved.url.startsWith("node:")) assertBuiltinAllowed(resolved.url);
      return resolved;
    },
  });
  const getBuiltinModule = process.getBuiltinModule.bind(process);
  process.getBuiltinModule = ((id: string) => {
    // `getBuiltinModule` accepts ids without the scheme; schemeless-only names are not guarded.
    if (typeof id === "string") assertBuiltinAllowed(id.startsWith("node:") ? id : `node:${id}`);
    return getBuiltinModule(id);
  }) as typeof process.getBuiltinModule;
}

const NET_HINT =
  "network access is off in this session (Node's --allow-net is not granted); " +
  "grant it with the session option permissions.net";

function isAccessDenied(error: unknown): error is Error {
  return error instanceof Error && (error as { code?: unknown }).code === "ERR_ACCESS_DENIED";
}

function explainNetDenied(error: unknown): unknown {
  if (isAccessDenied(error) && !error.message.includes("permissions.net")) {
    error.message = `${error.message}: ${NET_HINT}`;
  }
  return error;
}

/** Wraps a function so an access-denied failure, thrown, rejected or called back, says why. */
function explainingNetDenial<F extends (...args: never[]) => unknown>(original: F): F {
  return function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    const callback = args[last];
    if (typeof callback === "function") {
      args[last] = (error: unknown, ...rest: unknown[]) =>
        (callback as (...a: unknown[]) => unknown)(explainNetDenied(error), ...rest);
    }
    let value: unknown;
    try {
      value = Reflect.apply(original, this, args);
    } catch (error) {
      throw explainNetDenied(error);
    }
    if (value instanceof Promise)
      return value.catch((error) => Promise.reject(explainNetDenied(error)));
    return value;
  } as unknown as F;
}

function explainNetworkDenials(): void {
  for (const target of [dns, dns.promises] as Record<string, unknown>[]) {
    for (const name of Object.keys(target)) {
      const value = target[name];
      // Functions only, not the Resolver classes.
      if (typeof value === "function" && !/^[A-Z]/.test(name)) {
        target[name] = explainingNetDenial(value as (...args: never[]) => unknown);
      }
    }
  }
  // Sockets and servers report a denied connect, bind or listen as an `error` event.
  for (const prototype of [net.Socket.prototype, net.Server.prototype, dgram.Socket.prototype]) {
    const emit = prototype.emit as (
      this: unknown,
      event: string | symbol,
      ...args: unknown[]
    ) => boolean;
    Object.defineProperty(prototype, "emit", {
      value: function emitExplained(this: unknown, event: string | symbol, ...args: unknown[]) {
        if (event === "error") explainNetDenied(args[0]);
        return Reflect.apply(emit, this, [event, ...args]);
      },
      writable: true,
      configurable: true,
    });
  }
  const fetch = globalThis.fetch;
  globalThis.fetch = async function fetchExplained(...args: Parameters<typeof fetch>) {
    try {
      return await fetch(...args);
    } catch (error) {
      if (error instanceof Error && isAccessDenied(error.cause)) {
        error.message = `${error.message}: ${NET_HINT}`;
      }
      throw error;
    }
  };
  const denyOpen = () => {
    throw accessDenied(`inspector.open() listens on a network port: ${NET_HINT}`, "net");
  };
  (inspector as { open: unknown }).open = denyOpen;
  (inspectorPromises as { open: unknown }).open = denyOpen;
}

/**
 * A thread started from here gets this guard, this thread's policy and this process's
 * permission flags, whatever `execArgv` and `env` the caller passed: otherwise
 * `new Worker(code, { execArgv: [] })` would start a thread without the guard and without
 * the permission model (Node applies it per thread, from the thread's own flags).
 */
function guardWorkerThreads(): void {
  const Original = workerThreads.Worker;
  const policy = [...grants].join(",");
  const guarded: typeof Original = new Proxy(Original, {
    construct(target, args: unknown[], newTarget): object {
      const [filename, options = {}] = args as [unknown, Record<string, unknown> | undefined];
      // Without `execArgv` a thread would inherit this one's, which does not name this
      // file (it was imported, not preloaded): the list is always given.
      const execArgv = (options.execArgv as string[] | undefined) ?? inheritedFlags();
      const env =
        options.env === workerThreads.SHARE_ENV || options.env === undefined
          ? process.env
          : (options.env as Record<string, string>);
      const forced = {
        ...options,
        execArgv: [...withProcessPermissions(execArgv), `--require=${GUARD_PATH}`],
        env: { ...env, [GRANTS_ENV]: policy },
      };
      return Reflect.construct(
        target,
        [filename, forced],
        newTarget === guarded ? target : newTarget,
      );
    },
  });
  // Instances lead back to the class through their prototype: point it at the guard too.
  Object.defineProperty(Original.prototype, "constructor", { value: guarded, writable: false });
  (workerThreads as { Worker: unknown }).Worker = guarded;
}

/**
 * What a thread inherits when its creator names no flags: this thread's, less those Node
 * refuses for a thread (V8's heap size, which is the process's).
 */
function inheritedFlags(): string[] {
  return process.execArgv.filter((flag) => !flag.startsWith("--max-old-space-size"));
}

/**
 * Without child processes granted, a cell signals only its own worker: not its host
 * (`process.ppid`), not a sibling session, not every process of the user (`kill(-1)`).
 * Defence in depth for workers without a pid namespace, where those pids are reachable;
 * native code or a granted child process can still send signals.
 */
function guardSignals(): void {
  if (process.permission?.has("child") ?? true) return;
  const kill = process.kill.bind(process);
  process.kill = ((pid: number, signal?: string | number) => {
    if (pid !== process.pid) {
      throw accessDenied(
        `process.kill(${pid}) is denied in this session: a cell may signal only its own ` +
          "worker (grant permissions.childProcess to manage other processes)",
        "child",
      );
    }
    return kill(pid, signal);
  }) as typeof process.kill;
}

guardModuleResolution();
guardSignals();
if (!netGranted) explainNetworkDenials();
guardWorkerThreads();
// `import { open } from "node:inspector"` reads the ESM view of the built-in: update it.
module.syncBuiltinESMExports();
