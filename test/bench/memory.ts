/**
 * Memory of a process as the kernel accounts it (Linux `/proc/<pid>/smaps_rollup`).
 * Summed RSS counts the Node binary's shared pages once per process; what a session
 * really costs is its private memory (`Private_Dirty`: pages only it holds and that
 * cannot be dropped) and its proportional share (`Pss`: shared pages divided among
 * the processes mapping them).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";

export interface ProcessMemory {
  rssKiB: number;
  pssKiB: number;
  privateDirtyKiB: number;
}

/** Reads one live process's memory (a process reading its own: pass `process.pid`). */
export function processMemory(pid: number): ProcessMemory {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(rollup);
    if (match === null) throw new Error(`bench: no ${name} in /proc/${pid}/smaps_rollup`);
    return Number(match[1]);
  };
  return { rssKiB: field("Rss"), pssKiB: field("Pss"), privateDirtyKiB: field("Private_Dirty") };
}

/** Sums the memory of several processes. */
export function totalMemory(pids: number[]): ProcessMemory {
  const total: ProcessMemory = { rssKiB: 0, pssKiB: 0, privateDirtyKiB: 0 };
  for (const pid of pids) {
    const memory = processMemory(pid);
    total.rssKiB += memory.rssKiB;
    total.pssKiB += memory.pssKiB;
    total.privateDirtyKiB += memory.privateDirtyKiB;
  }
  return total;
}

/** `12.3 MiB` */
export function mib(kib: number): string {
  return `${(kib / 1024).toFixed(1)} MiB`;
}

/** `MemAvailable` of the machine, in KiB. */
export function memoryAvailableKiB(): number {
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync("/proc/meminfo", "utf8"));
  if (match === null) throw new Error("bench: no MemAvailable in /proc/meminfo");
  return Number(match[1]);
}

export interface IdleNode {
  pid: number;
  close(): Promise<void>;
}

/**
 * A plain `node` process that has started and sits idle (it says so on stdout, then
 * waits on stdin): the baseline of a worker's memory.
 */
export async function startIdleNode(): Promise<IdleNode> {
  const child = spawn(
    process.execPath,
    ["-e", "process.stdout.write('up'); process.stdin.resume()"],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const [chunk] = (await once(child.stdout, "data")) as [Buffer];
  if (chunk.toString() !== "up" || child.pid === undefined) {
    child.kill("SIGKILL");
    throw new Error("bench: the idle node baseline did not start");
  }
  return {
    pid: child.pid,
    close: async () => {
      const exited = once(child, "exit");
      child.stdin.end();
      await exited;
    },
  };
}
