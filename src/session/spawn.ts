/**
 * Starts one session worker process: `process.execPath` under an OS file-descriptor
 * limit, with a scrubbed environment, its own temporary working directory, Node's
 * permission model (a seat belt on top of process isolation, not the only boundary),
 * and frames on a dedicated pipe (fd 3).
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import type { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ResolvedSessionOptions } from "./options.ts";

/** The package root: the worker's code and Capsule's own dependencies live below it. */
export const PACKAGE_ROOT = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const WORKER_ENTRY = path.join(PACKAGE_ROOT, "workers", "session-worker.ts");

/** Environment variables a worker may inherit from the host; everything else is dropped. */
const INHERITED_ENV = ["PATH", "LANG", "LC_ALL", "TZ"];

export interface SpawnedWorker {
  child: ChildProcess;
  /** The frame pipe. */
  frames: Socket;
  /** The worker's private working directory (removed by `removeWorkdir`). */
  workdir: string;
}

export function spawnWorker(options: ResolvedSessionOptions): SpawnedWorker {
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-session-"));
  const config = {
    moduleRoot: options.moduleRoot,
    heartbeatMs: options.heartbeatMs,
    graceMs: options.graceMs,
    outputLimitBytes: options.outputBytes,
    checkpointMaxBytes: options.checkpointBytes,
    defaultTimeoutMs: options.timeoutMs,
    maxFrameBytes: Math.max(64 * 1024 * 1024, options.checkpointBytes + 1024 * 1024),
    memoryLimitBytes: options.memoryMb * 1024 * 1024,
  };
  const nodeArgs = [
    ...permissionFlags(options, workdir),
    `--max-old-space-size=${options.memoryMb}`,
    "--disable-warning=ExperimentalWarning",
    // Lets the worker see each cell's `import()` (a vm import callback needs the flag),
    // so dynamically imported modules are recorded and re-imported on restore.
    "--experimental-vm-modules",
    // `--allow-worker` warns on every thread start; the threads are Capsule's own.
    "--disable-warning=SecurityWarning",
    WORKER_ENTRY,
    JSON.stringify(config),
  ];
  // `ulimit` is the portable way to set RLIMIT_NOFILE for a child: Node has no setrlimit.
  const child = spawn(
    "/bin/sh",
    ["-c", `ulimit -n ${options.maxFds} && exec "$0" "$@"`, process.execPath, ...nodeArgs],
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
  return { child, frames, workdir };
}

export function removeWorkdir(workdir: string): void {
  fs.rmSync(workdir, { recursive: true, force: true });
}

function permissionFlags(options: ResolvedSessionOptions, workdir: string): string[] {
  // Code and packages only, not whole project directories: a project may keep a durable
  // store or secrets next to its code, and a cell must not read them.
  const read = unique([
    ...codePaths(PACKAGE_ROOT),
    ...codePaths(options.moduleRoot),
    workdir,
    ...options.permissions.fsRead,
  ]);
  const write = unique([workdir, ...options.permissions.fsWrite]);
  const flags = [
    "--permission",
    ...read.map((entry) => `--allow-fs-read=${entry}`),
    ...write.map((entry) => `--allow-fs-write=${entry}`),
    // The threaded executor and the watchdog are worker threads.
    "--allow-worker",
  ];
  if (options.permissions.childProcess) flags.push("--allow-child-process");
  return flags;
}

/** What a worker needs to read of a package: its manifest, its dependencies, its code. */
function codePaths(root: string): string[] {
  const paths = [path.join(root, "package.json"), path.join(root, "node_modules")];
  if (root === PACKAGE_ROOT) paths.push(path.join(root, "src"), path.join(root, "workers"));
  return paths;
}

function workerEnv(options: ResolvedSessionOptions, workdir: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, HOME: workdir, TMPDIR: workdir, ...options.env };
}

function unique(paths: string[]): string[] {
  return [...new Set(paths.map((entry) => path.resolve(entry)))];
}
