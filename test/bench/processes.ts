/**
 * Operating-system probes for the session bench: baseline child processes (a pipe echo,
 * a spawn that exits) and the resident memory and liveness of a pid, read from `/proc`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";

export interface EchoChild {
  pid: number;
  roundTrip(): Promise<void>;
  rssKiB(): number;
  close(): Promise<void>;
}

/** The echo of `startEcho({ relay: true })`, in a worker thread of the child. */
const RELAY_THREAD = `
const { parentPort } = require("node:worker_threads");
const { Socket } = require("node:net");
const input = new Socket({ fd: 0, readable: true, writable: false });
const output = new Socket({ fd: 1, readable: false, writable: true });
input.on("data", (chunk) => parentPort.postMessage(chunk));
parentPort.on("message", (chunk) => output.write(chunk));
// The end of input ends this thread, and with it the child (nothing else holds it open).
input.on("end", () => process.exit(0));
`;

/**
 * A child Node process echoing stdin to stdout: the floor of any host ⇄ worker round
 * trip. With `relay`, the child has a session worker's thread layout and nothing else: a
 * second thread owns the pipe and hands each chunk to the main thread, which hands it
 * back to be written (two thread hops per round trip, as every cell takes).
 */
export function startEcho(options: { relay?: boolean } = {}): EchoChild {
  const script =
    options.relay === true
      ? `const w = new (require("node:worker_threads").Worker)(${JSON.stringify(RELAY_THREAD)}, { eval: true }); w.on("message", (chunk) => w.postMessage(chunk));`
      : "process.stdin.pipe(process.stdout)";
  const echo = spawn(process.execPath, ["-e", script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const pid = echo.pid;
  if (pid === undefined) throw new Error("bench: the echo child did not start");
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
    pid,
    roundTrip: () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        echo.stdin?.write(message);
      }),
    rssKiB: () => rssKiB(pid),
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

/**
 * Starts `count` `node` processes at once, each under the permission model with one
 * worker thread that says it is up (a session worker's floor: Node's start twice, nothing
 * of Capsule's), and ends each once it has. Resolves with each one's latency from the
 * common start (ns) and the wall time until the last (ms).
 */
export async function burstOfThreadedNodes(
  count: number,
): Promise<{ eachNs: number[]; wallMs: number }> {
  const script =
    "const w = new (require('node:worker_threads').Worker)(\"require('node:worker_threads').parentPort.postMessage(1)\", { eval: true }); w.on('message', () => { process.stdout.write('up'); process.exit(0); });";
  const start = process.hrtime.bigint();
  const eachNs = await Promise.all(
    Array.from({ length: count }, async () => {
      const child = spawn(
        process.execPath,
        ["--permission", "--allow-worker", "--disable-warning=SecurityWarning", "-e", script],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const [chunk] = (await once(child.stdout, "data")) as [Buffer];
      const at = Number(process.hrtime.bigint() - start);
      await exitOf(child);
      if (chunk.toString() !== "up") throw new Error("bench: a threaded node did not come up");
      return at;
    }),
  );
  return { eachNs, wallMs: Number(process.hrtime.bigint() - start) / 1e6 };
}
