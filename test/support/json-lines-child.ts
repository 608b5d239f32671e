/**
 * A fixture script run as a real child process (`process.execPath`) that reports what it
 * does as JSON lines on stdout; tests wait for its reports instead of sleeping.
 */
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

export type Report = Record<string, unknown>;

export interface JsonLinesChild {
  process: ChildProcess;
  /** Resolves with the first report of `event` matching `where`; rejects if the child exits first. */
  next(event: string, where?: (report: Report) => boolean): Promise<Report>;
  /** Every report so far. */
  reports(): Report[];
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const live = new Set<ChildProcess>();

export function startJsonLinesChild(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): JsonLinesChild {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  live.add(child);
  const reports: Report[] = [];
  const waiters: {
    event: string;
    where: (report: Report) => boolean;
    resolve: (r: Report) => void;
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
      const report = JSON.parse(buffered.slice(0, newline)) as Report;
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
  const name = `${path.basename(script)} ${args[0] ?? ""}`.trim();
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
            new Error(`child ${name} exited (${code ?? signal}) before "${event}":\n${stderr}`),
          ),
        );
      });
    },
  };
}

/** SIGKILLs a child and waits for its exit. */
export async function killHard(child: JsonLinesChild): Promise<void> {
  child.process.kill("SIGKILL");
  await child.exited;
}

/** Kills every child still running (for afterEach). */
export async function killJsonLinesChildren(): Promise<void> {
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
