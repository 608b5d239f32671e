/**
 * Same-run A/B of two Capsule trees (e.g. a `git worktree` of the commit before a change,
 * built with `npm run build`, against this one): the same cell, alternating between a
 * session of each tree in short rounds so load from elsewhere on the machine hits both
 * alike, with a raw pipe ping-pong (32 B to a node child and back) in the same rounds as
 * the baseline of the round-trip ratio. Prints, per tree: round-trip median and p99, the worker's CPU time per cell (from
 * /proc, both threads, robust to a busy machine), the host's CPU time per cell, and the
 * output chunks per cell. Not part of `npm run bench` (it needs a second tree):
 *
 *   git worktree add --detach /tmp/before <commit> && (cd /tmp/before && ln -s "$PWD/node_modules" . && npm run build)
 *   node test/bench/session-ab.ts /tmp/before . ['for (let i = 0; i < 100; i++) console.log(i)']
 *
 * `ROUNDS` and `PER` (environment) set the rounds and the cells per round (20 × 100).
 */
import path from "node:path";
import { cpuTimeUs, startEcho } from "./processes.ts";

interface AnySession {
  readonly pid: number | undefined;
  start(): Promise<void>;
  execute(code: string, options: { onOutput: () => void }): Promise<unknown>;
  close(): Promise<void>;
}

const [before, after, code = "1 + 1"] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error("usage: node test/bench/session-ab.ts <tree A> <tree B> [cell]");
  process.exit(2);
}
const roots = [path.resolve(before), path.resolve(after)];
const rounds = Number(process.env.ROUNDS ?? 20);
const perRound = Number(process.env.PER ?? 100);

const sessions: AnySession[] = [];
for (const root of roots) {
  const module = (await import(path.join(root, "src/session/index.ts"))) as {
    Session: new (options: object) => AnySession;
  };
  // Permissions only: the worker's pid is then the host's view of it, for /proc.
  const session = new module.Session({ sandbox: "permissions-only" });
  await session.start();
  sessions.push(session);
}
const echo = startEcho();
const pipe: number[] = [];
const chunks = roots.map(() => 0);
const durations = roots.map(() => [] as number[]);
const workerCpu = roots.map(() => 0);
const hostCpu = roots.map(() => 0);
try {
  // Warm-up, untimed.
  for (const session of sessions)
    for (let i = 0; i < 100; i++) await session.execute(code, { onOutput: () => {} });
  for (let i = 0; i < 100; i++) await echo.roundTrip();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < perRound; i++) {
      const start = process.hrtime.bigint();
      await echo.roundTrip();
      pipe.push(Number(process.hrtime.bigint() - start) / 1000);
    }
    for (const [k, session] of sessions.entries()) {
      const pid = session.pid!;
      const worker0 = cpuTimeUs(pid);
      const host0 = process.cpuUsage();
      for (let i = 0; i < perRound; i++) {
        const start = process.hrtime.bigint();
        await session.execute(code, { onOutput: () => chunks[k]!++ });
        durations[k]!.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      workerCpu[k]! += cpuTimeUs(pid) - worker0;
      const host = process.cpuUsage(host0);
      hostCpu[k]! += host.user + host.system;
    }
  }
} finally {
  await Promise.all([echo.close(), ...sessions.map((session) => session.close())]);
}
const cells = rounds * perRound;
const quantile = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const pipeAt = quantile(pipe);
console.log(`cell ${JSON.stringify(code)}, ${rounds} rounds × ${perRound} cells per tree`);
console.log(
  `raw pipe ping-pong: median ${pipeAt(0.5).toFixed(0)} µs, p99 ${pipeAt(0.99).toFixed(0)} µs`,
);
for (const [k, root] of roots.entries()) {
  const at = quantile(durations[k]!);
  console.log(
    `${root}: median ${at(0.5).toFixed(0)} µs (${(at(0.5) / pipeAt(0.5)).toFixed(1)}× the pipe), p99 ${at(0.99).toFixed(0)} µs, worker CPU ${(workerCpu[k]! / cells).toFixed(0)} µs/cell, host CPU ${(hostCpu[k]! / cells).toFixed(0)} µs/cell, output chunks ${(chunks[k]! / cells).toFixed(1)}/cell`,
  );
}
