// Runs the `capsule` CLI through its sh launcher as a child process, with a temp store,
// and reads its output. Interactive children are synchronized on their output, never by
// sleeping. Every child and temp dir is tracked so `cleanup()` leaves nothing behind.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const LAUNCHER = path.join(ROOT, "src", "cli", "capsule");

const children = new Set<ChildProcess>();
const dirs = new Set<string>();

export function tempDir(prefix = "capsule-cli-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Kills every child still running and removes every temp dir. */
export async function cleanup(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
  children.clear();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LiveCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout (from `from` on) matches; rejects if the child exits first. */
  waitFor(pattern: string | RegExp, from?: number): Promise<void>;
  write(text: string): void;
  exited: Promise<Finished>;
}

/** The test's environment without the settings a caller did not ask for, plus `extra`. */
function env(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.CAPSULE_DIR;
  delete base.FORCE_COLOR;
  return { ...base, ...extra };
}

/** Starts `command args` (default: the launcher) with piped stdio. */
export function start(
  args: string[],
  options: { command?: string; env?: NodeJS.ProcessEnv } = {},
): LiveCli {
  const child = spawn(options.command ?? LAUNCHER, args, {
    stdio: ["pipe", "pipe", "pipe"],
    env: env(options.env ?? {}),
  });
  children.add(child);
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout?.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
    for (const listener of [...listeners]) listener();
  });
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<Finished>((resolve) => {
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    write: (text) => {
      child.stdin?.write(text);
    },
    waitFor(pattern, from = 0) {
      const matches = () =>
        typeof pattern === "string"
          ? stdout.indexOf(pattern, from) !== -1
          : pattern.test(stdout.slice(from));
      if (matches()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const listener = () => {
          if (!matches()) return;
          listeners.delete(listener);
          resolve();
        };
        listeners.add(listener);
        void exited.then((end) => {
          if (!listeners.delete(listener)) return;
          reject(
            new Error(
              `exited (${end.code ?? end.signal}) before ${String(pattern)}\nstdout: ${end.stdout}\nstderr: ${end.stderr}`,
            ),
          );
        });
      });
    },
  };
}

/** Runs the CLI to completion; `input` (if any) is written to stdin, which is then closed. */
export function run(
  args: string[],
  options: { input?: string; command?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  const cli = start(args, options);
  cli.child.stdin?.end(options.input ?? "");
  return cli.exited;
}
