/**
 * Starts one session worker process: `process.execPath` under an OS file-descriptor
 * limit, with a scrubbed environment, its own temporary working directory, inside the
 * OS sandbox where the machine allows it (see sandbox.ts), under Node's permission model
 * and the built-in guard (which the worker loads first, see workers/builtin-guard.ts),
 * and frames on a dedicated pipe (fd 3).
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { BUILD_DIR, freshWorkerBuild, packageRootOf } from "../build/manifest.ts";
import type { ResolvedSessionOptions } from "./options.ts";
import { bwrapArgs, sandboxedWorkerPid, useNamespaces } from "./sandbox.ts";
import { createWorkdir } from "./workdirs.ts";

export { removeWorkdir } from "./workdirs.ts";

/** The package root: the worker's code and Capsule's own dependencies live below it. */
export const PACKAGE_ROOT = packageRootOf(import.meta.url);
/**
 * Workers run the plain-JavaScript build of their sources (src/build/worker-build.ts), so a
 * start does not pay for Node's TypeScript stripper; of Capsule's own code, only the
 * builds' directory is readable to them.
 */
const WORKER_BUILDS = path.join(PACKAGE_ROOT, BUILD_DIR);
/** The worker's entry, in a build directory. */
const WORKER_ENTRY = path.join("workers", "session-worker.js");
/** Read by the guard once, at load; see workers/builtin-guard.ts. */
const GRANTS_ENV = "CAPSULE_BUILTIN_GRANTS";

/** Environment variables a worker may inherit from the host; everything else is dropped. */
const INHERITED_ENV = ["PATH", "LANG", "LC_ALL", "TZ"];

export interface SpawnedWorker {
  child: ChildProcess;
  /** The frame pipe. */
  frames: Socket;
  /** The worker's private working directory (removed by `removeWorkdir`). */
  workdir: string;
  /** Whether the worker runs in its own namespaces (bubblewrap). */
  sandboxed: boolean;
  /**
   * The worker's own pid as the host sees it, once it has started: `child.pid` is
   * bubblewrap's process when sandboxed (the worker is its grandchild).
   */
  workerPid(): number | undefined;
  /** Signals the worker itself (`child.pid` is bubblewrap's process when sandboxed). */
  signal(signal: NodeJS.Signals): void;
  /**
   * The worker's exit as the host should read it: bubblewrap reports a worker killed by
   * a signal as exit code 128 + signal number.
   */
  exitStatus(
    code: number | null,
    signal: NodeJS.Signals | null,
  ): { code: number | null; signal: NodeJS.Signals | null };
}

export async function spawnWorker(options: ResolvedSessionOptions): Promise<SpawnedWorker> {
  // Before anything is created: a stale build is refused loudly, never run.
  const build = await freshWorkerBuild(PACKAGE_ROOT);
  const sandboxed = await useNamespaces(options.sandbox);
  const workdir = createWorkdir();
  const config = {
    moduleRoot: options.moduleRoot,
    heartbeatMs: options.heartbeatMs,
    graceMs: options.graceMs,
    outputLimitBytes: options.outputBytes,
    checkpointMaxBytes: options.checkpointBytes,
    defaultTimeoutMs: options.timeoutMs,
    maxFrameBytes: Math.max(64 * 1024 * 1024, options.checkpointBytes + 1024 * 1024),
    memoryLimitBytes: options.memoryMb * 1024 * 1024,
    warmCheckpoints: options.warmCheckpoints,
  };
  const access = fileAccess(options, workdir);
  const nodeArgs = [
    ...permissionFlags(options, access),
    `--max-old-space-size=${options.memoryMb}`,
    "--disable-warning=ExperimentalWarning",
    // Lets the worker see each cell's `import()` (a vm import callback needs the flag),
    // so dynamically imported modules are recorded and re-imported on restore.
    "--experimental-vm-modules",
    // `--allow-worker` warns on every thread start; the threads are Capsule's own.
    "--disable-warning=SecurityWarning",
    // A stray callback stopped by the service thread (see workers/executors/main-watch.ts)
    // unwinds Node's timer or tick loop before it pops its async context; with the checks
    // on, Node aborts the process for that instead of running on.
    "--no-force-async-hooks-checks",
    path.join(build, WORKER_ENTRY),
    JSON.stringify(config),
  ];
  const command = sandboxed
    ? [
        "bwrap",
        ...bwrapArgs({
          workdir,
          readOnly: [...access.read, process.execPath],
          writable: access.write,
          net: options.permissions.net,
        }),
        process.execPath,
        ...nodeArgs,
      ]
    : [process.execPath, ...nodeArgs];
  // `ulimit` is the portable way to set RLIMIT_NOFILE for a child: Node has no setrlimit.
  // bubblewrap ignores SIGINT (which would end it and, with it, the sandbox): the host
  // interrupts a cell by signalling the process group, and only the worker acts on it.
  const ignoreInterrupts = sandboxed ? "trap '' INT; " : "";
  const child = spawn(
    "/bin/sh",
    ["-c", `${ignoreInterrupts}ulimit -n ${options.maxFds} && exec "$0" "$@"`, ...command],
    {
      cwd: workdir,
      env: workerEnv(options, workdir),
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      // Its own process group: a Ctrl-C at the terminal is for the host (which cancels the
      // cell), not a signal that should reach every worker directly.
      detached: true,
    },
  );
  const frames = child.stdio[3] as Socket;
  return {
    child,
    frames,
    workdir,
    sandboxed,
    workerPid: () =>
      sandboxed && child.pid !== undefined ? sandboxedWorkerPid(child.pid) : child.pid,
    signal: (signal) => {
      if (!sandboxed || child.pid === undefined || signal === "SIGKILL") {
        // SIGKILL to bubblewrap takes the whole sandbox down (--die-with-parent).
        child.kill(signal);
        return;
      }
      try {
        process.kill(-child.pid, signal);
      } catch (error) {
        // The group is gone: the worker already exited, and its exit is reported anyway.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    },
    exitStatus: (code, signal) => {
      if (!sandboxed || signal !== null || code === null || code <= 128) return { code, signal };
      const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
      return name === undefined ? { code, signal } : { code: null, signal: name as NodeJS.Signals };
    },
  };
}

/** What the worker may read and write: the permission model's lists, and the sandbox's mounts. */
function fileAccess(
  options: ResolvedSessionOptions,
  workdir: string,
): { read: string[]; write: string[] } {
  // Code and packages only, not whole project directories: a project may keep a durable
  // store or secrets next to its code, and a cell must not read them.
  const read = unique([
    ...codePaths(PACKAGE_ROOT),
    ...codePaths(options.moduleRoot),
    workdir,
    ...options.permissions.fsRead,
  ]);
  const write = unique([workdir, ...options.permissions.fsWrite]);
  return { read, write };
}

function permissionFlags(
  options: ResolvedSessionOptions,
  access: { read: string[]; write: string[] },
): string[] {
  const flags = [
    "--permission",
    ...access.read.map((entry) => `--allow-fs-read=${entry}`),
    ...access.write.map((entry) => `--allow-fs-write=${entry}`),
    // The threaded executor and the watchdog are worker threads.
    "--allow-worker",
    // The service thread interrupts a running cell through the inspector (terminateExecution).
    "--allow-inspector",
  ];
  if (options.permissions.childProcess) flags.push("--allow-child-process");
  if (options.permissions.net) flags.push("--allow-net");
  return flags;
}

/** What a worker needs to read of a package: its manifest, its dependencies, its code. */
function codePaths(root: string): string[] {
  const paths = [path.join(root, "package.json"), path.join(root, "node_modules")];
  if (root === PACKAGE_ROOT) paths.push(WORKER_BUILDS);
  return paths;
}

function workerEnv(options: ResolvedSessionOptions, workdir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const grants = options.permissions.sqlite ? "sqlite" : "";
  // glibc gives each thread that allocates its own malloc arena (the worker has its two
  // and V8's helper threads), and each arena keeps freed pages dirty: two arenas save
  // ~1.1 MiB of every idle session's private memory (`bench session`). A caller's `env`
  // may set another value. The grants come last: a caller's `env` cannot widen what the
  // guard allows.
  return {
    ...env,
    HOME: workdir,
    TMPDIR: workdir,
    MALLOC_ARENA_MAX: "2",
    ...options.env,
    [GRANTS_ENV]: grants,
  };
}

function unique(paths: string[]): string[] {
  return [...new Set(paths.map((entry) => path.resolve(entry)))];
}
