/**
 * Same-run A/B of a session's start and idle memory in two Capsule trees (a `git
 * worktree` of the commit before a change, built, against this one). Alternates, in each
 * round, `node -e 0` (the baseline), a session of tree A and one of tree B, so load from
 * elsewhere on the machine hits all three alike. Per tree: `new Session().start()` →
 * READY, READY → the first `1 + 1` answered, the worker's CPU time to READY (from /proc,
 * both threads: what 100 sessions started at once contend for), and `Private_Dirty` /
 * `Pss` of the idle worker after that one cell. Not part of `npm run bench` (it needs a
 * second tree):
 *
 *   git worktree add --detach /tmp/before <commit> && (cd /tmp/before &&
 *     cp -al "$OLDPWD/node_modules" . && npm run build)
 *   node test/bench/start-ab.ts /tmp/before .
 *
 * (`cp -al`, not a symlink: the worker may read only its own tree's node_modules.)
 * `ROUNDS` (environment) sets the rounds (default 15).
 */
import path from "node:path";
import { fromDurationsMs, type Measurement, printTable } from "./harness.ts";
import { mib, processMemory } from "./memory.ts";
import { cpuTimeUs, spawnAndWait } from "./processes.ts";

interface AnySession {
  readonly pid: number | undefined;
  start(): Promise<void>;
  execute(code: string): Promise<unknown>;
  close(): Promise<void>;
}
type SessionClass = new (options: object) => AnySession;

const [before, after] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error("usage: node test/bench/start-ab.ts <tree A> <tree B>");
  process.exit(2);
}
const roots = [path.resolve(before), path.resolve(after)];
const labels = roots.map((root, k) => `${k === 0 ? "A" : "B"} ${root}`);
const rounds = Number(process.env.ROUNDS ?? 15);

const classes: SessionClass[] = [];
for (const root of roots) {
  const module = (await import(path.join(root, "src/session/index.ts"))) as {
    Session: SessionClass;
  };
  classes.push(module.Session);
}

const baseline: number[] = [];
const ready = roots.map(() => [] as number[]);
const firstCell = roots.map(() => [] as number[]);
const cpu = roots.map(() => [] as number[]);
const privateDirty = roots.map(() => [] as number[]);
const pss = roots.map(() => [] as number[]);
for (let round = 0; round < rounds; round++) {
  const t0 = performance.now();
  await spawnAndWait(process.execPath, ["-e", "0"]);
  baseline.push(performance.now() - t0);
  for (const [k, Session] of classes.entries()) {
    // Permissions only: the worker's pid is then the host's view of it, for /proc.
    const session = new Session({ sandbox: "permissions-only" });
    try {
      const started = performance.now();
      await session.start();
      const up = performance.now();
      ready[k]!.push(up - started);
      cpu[k]!.push(cpuTimeUs(session.pid!) / 1000);
      await session.execute("1 + 1");
      firstCell[k]!.push(performance.now() - up);
      // Idle: the worker's own after-READY work (warm-up) has had its time.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const memory = processMemory(session.pid!);
      privateDirty[k]!.push(memory.privateDirtyKiB);
      pss[k]!.push(memory.pssKiB);
    } finally {
      await session.close();
    }
  }
}

const rows: Measurement[] = [fromDurationsMs("node -e 0", baseline)];
for (const [k, label] of labels.entries()) {
  rows.push(fromDurationsMs(`${label}: start() → READY`, ready[k]!));
  rows.push(fromDurationsMs(`${label}: READY → first 1 + 1`, firstCell[k]!));
}
printTable(`Session start, A/B (${rounds} rounds)`, rows, "node -e 0");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
for (const [k, label] of labels.entries()) {
  console.log(
    `${label}: worker CPU to READY median ${median(cpu[k]!).toFixed(0)} ms; idle after one cell: ` +
      `Private_Dirty ${mib(median(privateDirty[k]!))}, Pss ${mib(median(pss[k]!))} (medians)`,
  );
}
