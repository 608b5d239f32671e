/**
 * The durable layer's costs, each against a baseline measured in the same run:
 * 1. a durable step (`ctx.run` of a trivial function, and a durable `execute` of a
 *    trivial cell) on the embedded store, at both durability levels, versus the SDK's
 *    in-memory LocalNetwork; whole executions of 10 steps in a fresh process and after
 *    5,000 executions (a long-lived orchestrator must not slow down as it goes);
 * 2. a durable `execute` of a 10 ms cell, at both durability levels, versus a plain
 *    `session.execute` of it on one warm worker, and on a fresh worker every 10 cells
 *    (what each durable execution gets), with and without the pool's warm-up of idle
 *    workers, which tells the cold worker's share apart (durable-cell.ts);
 * 3. time from process start to the first resumed step after a `kill -9`: to the first
 *    replayed cell and to the first cell that runs again (worker start and restore);
 *    as a process starts by default, and with Node's compile cache (`NODE_COMPILE_CACHE`,
 *    primed by the crashed run), which keeps the TypeScript stripping and compilation of
 *    Capsule's own modules out of the restart.
 * The backends of one table are open at once and take their executions in turn (see
 * `stepLatencies`). `DURABLE_BENCH=steps,cell` prints only those tables (names in `TABLES`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  type Backend,
  backendName,
  closeCapsule,
  type OpenCapsule,
  openCapsule,
  stats,
  withCapsule,
} from "./durable-backends.ts";
import { slowCellTable } from "./durable-cell.ts";
import { type Measurement, printTable } from "./harness.ts";

const EXECUTIONS = 30;
const STEPS = 10;
/** Executions a long-lived process has run before the "after many executions" rows. */
const LONG_HISTORY = 5_000;
/** Restarts per row; `CAPSULE_BENCH_RESTARTS` raises it for a noisy machine. */
const RESTARTS = Number(process.env.CAPSULE_BENCH_RESTARTS ?? 8);

/**
 * Per-step latency of `STEPS` steps per execution, measured inside the function, on each
 * backend in `kinds`: all open at once, their executions taken in turn, so that a load
 * spike on a shared machine inflates every row instead of skewing their ratio.
 */
async function stepLatencies(
  kinds: readonly Backend[],
  step: "run" | "execute",
  code = "1",
): Promise<number[][]> {
  const open: OpenCapsule[] = [];
  try {
    for (const kind of kinds) open.push(await openCapsule(kind));
    const samples = kinds.map(() => [] as number[]);
    const functions = open.map(({ capsule }, k) =>
      capsule.register("steps", async (ctx) => {
        const s = ctx.session("main");
        for (let i = 0; i < STEPS; i++) {
          const started = performance.now();
          if (step === "run") await ctx.run(async () => i);
          else await s.execute(code);
          samples[k]!.push(performance.now() - started);
        }
        return STEPS;
      }),
    );
    for (const fn of functions) {
      for (let i = 0; i < 3; i++) await (await fn.run(`warm-${i}`)).result();
    }
    for (const list of samples) list.length = 0;
    for (let i = 0; i < EXECUTIONS; i++) {
      for (const fn of functions) await (await fn.run(`run-${i}`)).result();
    }
    return samples;
  } finally {
    for (const opened of open) await closeCapsule(opened);
  }
}

/**
 * Whole executions of `STEPS` `ctx.run` steps (run to result), after `history` of them
 * ran in the same process: whether a long-lived orchestrator slows down as it goes.
 */
async function executionLatency(kind: Backend, history: number): Promise<number[]> {
  return withCapsule(kind, async (capsule) => {
    const fn = capsule.register("steps", async (ctx) => {
      for (let i = 0; i < STEPS; i++) await ctx.run(async () => i);
      return STEPS;
    });
    for (let i = 0; i < history; i++) await (await fn.run(`history-${i}`)).result();
    const samples: number[] = [];
    for (let i = 0; i < EXECUTIONS; i++) {
      const started = performance.now();
      await (await fn.run(`run-${i}`)).result();
      samples.push(performance.now() - started);
    }
    return samples;
  });
}

const ROOT = path.join(import.meta.dirname, "..", "..");
const FIXTURE_IN_TREE = path.join("test", "durable", "fixtures", "capsule-child.ts");

function reportsOf(
  child: ChildProcess,
): (where: (r: Record<string, unknown>) => boolean) => Promise<number> {
  const seen: { at: number; report: Record<string, unknown> }[] = [];
  const waiters: {
    where: (r: Record<string, unknown>) => boolean;
    resolve: (at: number) => void;
  }[] = [];
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf("\n"); nl !== -1; nl = buffered.indexOf("\n")) {
      const report = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
      buffered = buffered.slice(nl + 1);
      const at = performance.now();
      seen.push({ at, report });
      for (const waiter of waiters.filter((w) => w.where(report))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  });
  return (where) => {
    const found = seen.find((s) => where(s.report));
    if (found !== undefined) return Promise.resolve(found.at);
    return new Promise((resolve) => waiters.push({ where, resolve }));
  };
}

interface RestartSamples {
  replayed: number[];
  ran: number[];
}

/**
 * kill -9 after cell 1, restart, time to the replayed cell 1 and to cell 2 running.
 * `trees` are repository roots whose fixture runs in turn, restart by restart (an A/B of
 * two trees in one run: the machine's load changes alike for both).
 */
async function restartTimes(
  compileCache: boolean,
  trees: string[] = [ROOT],
): Promise<RestartSamples[]> {
  const samples = trees.map((): RestartSamples => ({ replayed: [], ran: [] }));
  // One compile cache per tree, primed by its crashed runs.
  const caches = trees.map(() => fs.mkdtempSync(path.join(os.tmpdir(), "capsule-restart-cache-")));
  const { NODE_COMPILE_CACHE: _inherited, ...inherited } = process.env;
  for (let i = 0; i < RESTARTS * trees.length; i++) {
    const which = i % trees.length;
    const fixture = path.join(trees[which] ?? ROOT, FIXTURE_IN_TREE);
    const { replayed, ran } = samples[which] ?? { replayed: [], ran: [] };
    const env = compileCache ? { ...inherited, NODE_COMPILE_CACHE: caches[which] } : inherited;
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-restart-bench-"));
    const store = path.join(root, "capsule");
    const side = path.join(root, "side");
    fs.mkdirSync(side);
    try {
      const crashed = spawn(process.execPath, [fixture, "crash", store, side, "between"], {
        env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      await reportsOf(crashed)((r) => r.event === "cell" && r.n === 1);
      const gone = new Promise((resolve) => crashed.once("exit", resolve));
      crashed.kill("SIGKILL");
      await gone;
      const started = performance.now();
      const resumed = spawn(process.execPath, [fixture, "resume", store, side], {
        env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      const next = reportsOf(resumed);
      replayed.push((await next((r) => r.event === "cell" && r.n === 1)) - started);
      ran.push((await next((r) => r.event === "cell" && r.n === 2)) - started);
      await next((r) => r.event === "done");
      await new Promise((resolve) => resumed.once("exit", resolve));
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  }
  for (const cache of caches) fs.rmSync(cache, { recursive: true, force: true });
  return samples;
}

/**
 * `node test/bench/durable.bench.ts restart-ab <other tree>...`: the restart rows of other
 * checkouts (e.g. `git worktree add /tmp/before HEAD`; "before" is the first) and of this
 * tree ("after"), interleaved. `CAPSULE_BENCH_COMPILE_CACHE=only` (or `none`) runs only the
 * rows with (without) the compile cache.
 */
async function restartAb(others: string[]): Promise<void> {
  const only = process.env.CAPSULE_BENCH_COMPILE_CACHE;
  const modes = only === "only" ? [true] : only === "none" ? [false] : [false, true];
  const trees = [...others, ROOT];
  const labels = trees.map((tree, i) =>
    i === 0 ? "before" : tree === ROOT ? "after" : path.basename(tree),
  );
  for (const compileCache of modes) {
    const runs = await restartTimes(compileCache, trees);
    const suffix = compileCache ? ", NODE_COMPILE_CACHE" : "";
    const rows: Measurement[] = [];
    runs.forEach((run, i) => {
      rows.push(stats(`${labels[i]}: to the first replayed cell${suffix}`, run.replayed));
      rows.push(stats(`${labels[i]}: to the first cell that runs again${suffix}`, run.ran));
    });
    printTable(
      `kill -9 restart, ${RESTARTS} restarts of each tree, interleaved (${trees.map((tree, i) => `${labels[i]} = ${tree}`).join(", ")})`,
      rows,
      `before: to the first replayed cell${suffix}`,
    );
  }
}

/** The step table: backends side by side, `machine` apart (see `stepLatencies`). */
async function stepTable(): Promise<void> {
  // `machine` apart: its fsync per commit slows the other store's writes to the same
  // disk (measured: the process-level row 2-3x slower when interleaved with it).
  const steps: Measurement[] = [];
  for (const [step, label] of [
    ["run", "ctx.run"],
    ["execute", "execute('1')"],
  ] as const) {
    for (const backends of [["memory", "process"], ["machine"]] as const) {
      const samples = await stepLatencies(backends, step);
      for (const [k, kind] of backends.entries()) {
        steps.push(stats(`${label}, ${backendName(kind)}`, samples[k]!));
      }
    }
  }
  printTable(
    `durable step latency, ${EXECUTIONS} executions x ${STEPS} steps`,
    steps,
    "ctx.run, LocalNetwork (in memory)",
  );
}

async function executionTable(): Promise<void> {
  const executions: Measurement[] = [];
  for (const history of [0, LONG_HISTORY]) {
    for (const kind of ["memory", "process"] as const) {
      const samples = await executionLatency(kind, history);
      executions.push(stats(`${backendName(kind)}, after ${history} executions`, samples));
    }
  }
  printTable(
    `an execution of ${STEPS} ctx.run steps, fresh process vs after ${LONG_HISTORY} executions`,
    executions,
    "LocalNetwork (in memory), after 0 executions",
  );
}

async function restartTable(): Promise<void> {
  const [cold = { replayed: [], ran: [] }] = await restartTimes(false);
  const [cached = { replayed: [], ran: [] }] = await restartTimes(true);
  printTable(
    `process start to first resumed step after kill -9 (${RESTARTS} restarts each)`,
    [
      stats("to the first replayed cell", cold.replayed),
      stats("to the first cell that runs again", cold.ran),
      stats("to the first replayed cell, NODE_COMPILE_CACHE", cached.replayed),
      stats("to the first cell that runs again, NODE_COMPILE_CACHE", cached.ran),
    ],
    "to the first replayed cell",
  );
}

const TABLES = {
  steps: stepTable,
  executions: executionTable,
  cell: slowCellTable,
  restart: restartTable,
};

/** Every table, or those named in `DURABLE_BENCH` (comma-separated keys of `TABLES`). */
export default async function run(): Promise<void> {
  const only = process.env.DURABLE_BENCH?.split(",");
  for (const [name, table] of Object.entries(TABLES)) {
    if (only === undefined || only.includes(name)) await table();
  }
}

if (import.meta.main) {
  const [mode, ...others] = process.argv.slice(2);
  if (mode === "restart-ab" && others.length > 0)
    await restartAb(others.map((tree) => path.resolve(tree)));
  else await run();
}
