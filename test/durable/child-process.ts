// Spawns test/durable/fixtures/store-child.ts and reads its JSON-lines reports.
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
  "store-child.ts",
);

export interface StoreChild {
  process: ChildProcess;
  /** Resolves with the first report of this event; rejects if the child exits first. */
  next(event: string): Promise<Record<string, unknown>>;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Resolves when the child has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

export function startStoreChild(role: string, dir: string, counterFile?: string): StoreChild {
  const args = [FIXTURE, role, dir, ...(counterFile === undefined ? [] : [counterFile])];
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  const reports: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve: (r: Record<string, unknown>) => void }[] = [];
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
      for (const waiter of waiters.filter((w) => w.event === report.event)) {
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
    stderr: () => stderr,
    next(event) {
      const seen = reports.find((r) => r.event === event);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ event, resolve });
        void exited.then(({ code, signal }) =>
          reject(
            new Error(`child ${role} exited (${code ?? signal}) before "${event}":\n${stderr}`),
          ),
        );
      });
    },
  };
}

/** Kills every child still running (afterEach). */
export async function killStoreChildren(): Promise<void> {
  const waits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  await Promise.all(waits);
}
