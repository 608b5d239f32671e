// Spawns test/durable/fixtures/capsule-child.ts and reads its JSON-lines reports; checks
// that processes are gone.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
  "capsule-child.ts",
);

export interface CapsuleChild {
  process: ChildProcess;
  /** Resolves with the first report matching; rejects if the child exits first. */
  next(
    event: string,
    where?: (report: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>>;
  /** Every report so far. */
  reports(): Record<string, unknown>[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

export function startCapsuleChild(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): CapsuleChild {
  const child = spawn(process.execPath, [FIXTURE, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  live.add(child);
  const reports: Record<string, unknown>[] = [];
  const waiters: {
    event: string;
    where: (report: Record<string, unknown>) => boolean;
    resolve: (r: Record<string, unknown>) => void;
  }[] = [];
  let stderr = "";
  let buffered = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const report = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
      buffered = buffered.slice(newline + 1);
      reports.push(report);
      for (const waiter of waiters.filter((w) => w.event === report.event && w.where(report))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(report);
      }
      newline = buffered.indexOf("\n");
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    process: child,
    exited,
    reports: () => [...reports],
    stderr: () => stderr,
    next(event, where = () => true) {
      const seen = reports.find((r) => r.event === event && where(r));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ event, where, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(`child ${args[0]} exited (${code ?? signal}) before "${event}":\n${stderr}`),
          ),
        );
      });
    },
  };
}

/** SIGKILLs a child and waits for its exit. */
export async function killHard(child: CapsuleChild): Promise<void> {
  child.process.kill("SIGKILL");
  await child.exited;
}

/** Kills every child still running (afterEach). */
export async function killCapsuleChildren(): Promise<void> {
  await Promise.all(
    [...live].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Condition polling, not a sleep-to-synchronize: a worker is not our child, so there is
 * no exit event to wait for; `kill(pid, 0)` is checked until it fails or the deadline.
 * Returns the pids still alive at the deadline.
 */
export async function waitForPidsGone(pids: number[], deadlineMs = 15_000): Promise<number[]> {
  const until = Date.now() + deadlineMs;
  let remaining = pids.filter(alive);
  while (remaining.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    remaining = remaining.filter(alive);
  }
  return remaining;
}
