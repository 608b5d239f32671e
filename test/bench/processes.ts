/**
 * Operating-system probes for the session bench: baseline child processes (a pipe echo,
 * a spawn that exits) and the resident memory and liveness of a pid, read from `/proc`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";

export interface EchoChild {
  roundTrip(): Promise<void>;
  rssKiB(): number;
  close(): Promise<void>;
}

/** A child Node process echoing stdin to stdout: the floor of any host ⇄ worker round trip. */
export function startEcho(): EchoChild {
  const echo = spawn(process.execPath, ["-e", "process.stdin.pipe(process.stdout)"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const message = Buffer.alloc(32, 0x61);
  let received = 0;
  let wake: () => void = () => {};
  echo.stdout?.on("data", (chunk: Buffer) => {
    received += chunk.byteLength;
    if (received >= message.byteLength) {
      received -= message.byteLength;
      wake();
    }
  });
  return {
    roundTrip: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        echo.stdin?.write(message);
      }),
    rssKiB: () => (echo.pid === undefined ? 0 : rssKiB(echo.pid)),
    close: async () => {
      echo.stdin?.end();
      await exitOf(echo);
    },
  };
}

async function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await once(child, "exit");
}

/** Spawns a command and waits for it to exit with status 0. */
export async function spawnAndWait(command: string, args: string[]): Promise<void> {
  const child = spawn(command, args, { stdio: "ignore" });
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`bench: ${command} exited with ${code}`);
}

/** Resident memory of a live process, in KiB (Linux). */
export function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match === null) throw new Error(`bench: no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** User + system CPU of a live process so far, in µs (Linux; clock ticks of 10 ms), all threads. */
export function cpuTimeUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

export { processExists } from "../support/processes.ts";

/**
 * CPU time of every live thread of `pid`, in µs, from each thread's `schedstat` (ns):
 * `cpuTimeUs` counts in clock ticks (10 ms), too coarse for one cell.
 */
export function threadsCpuTimeUs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  }
  return ns / 1000;
}
