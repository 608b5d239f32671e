/**
 * Durable step overhead: the time of one `ctx.run` step (record the step's promise, run
 * a trivial function, record its result) inside a workflow on the SDK's in-memory
 * LocalNetwork (baseline) and on the embedded store with durability `process`
 * (synchronous=NORMAL, the default) and `machine` (synchronous=FULL). Each step is timed
 * individually inside the workflow.
 *
 * Group commit: 100 executions x 10 steps run concurrently; steps per second, and the
 * store's commits and WAL checkpoints per step. The disk syncs are one per commit with
 * `machine` (synchronous=FULL fsyncs the WAL in each commit) plus two per checkpoint
 * (WAL, then store.db), only the checkpoints' with `process`.
 *
 * Store open: the time of `EmbeddedNetwork.open` (rebuild and recovery) of an empty store
 * (baseline) and of one holding 10,000 completed executions (one step each), measured
 * in the same run. Open should cost what is live, not the history.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalNetwork, type Network } from "@resonatehq/sdk";
import { Resonate } from "@resonatehq/sdk/async";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { type Measurement, printTable } from "./harness.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const STEPS_PER_EXECUTION = 20;
const EXECUTIONS = 100;
const WARMUP_EXECUTIONS = 10;
const BASELINE = "LocalNetwork (in memory)";
const HISTORY_EXECUTIONS = 10_000;
const OPEN_SAMPLES = 30;
const EMPTY_STORE = "empty store";
const CONCURRENT_EXECUTIONS = 100;
const CONCURRENT_STEPS = 10;

function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/**
 * The SDK on `network` with the network's own pid when it has one (EmbeddedNetwork: the
 * documented use, under which the store knows which tasks this process holds).
 */
function resonateOn(network: Network): Resonate {
  const pid: unknown = Reflect.get(network, "pid");
  return new Resonate({ network, ...(typeof pid === "string" ? { pid } : {}) });
}

async function measureSteps(name: string, network: Network): Promise<Measurement> {
  const resonate = resonateOn(network);
  let samples: number[] = [];
  const workflow = resonate.register("steps", async (ctx: Context) => {
    let total = 0;
    for (let i = 0; i < STEPS_PER_EXECUTION; i++) {
      const started = performance.now();
      total += await ctx.run(async () => i);
      samples.push(performance.now() - started);
    }
    return total;
  });
  try {
    for (let i = 0; i < WARMUP_EXECUTIONS; i++) await (await workflow.run(`warm-${i}`)).result();
    samples = [];
    const started = performance.now();
    for (let i = 0; i < EXECUTIONS; i++) await (await workflow.run(`run-${i}`)).result();
    const elapsedMs = performance.now() - started;
    samples.sort((a, b) => a - b);
    return {
      name,
      medianUs: percentile(samples, 0.5) * 1000,
      p99Us: percentile(samples, 0.99) * 1000,
      opsPerSec: samples.length / (elapsedMs / 1000),
    };
  } finally {
    await resonate.stop();
  }
}

/** Fills `dir` with completed one-step executions (durability normal: it is only setup). */
async function writeHistory(dir: string, executions: number): Promise<void> {
  const network = EmbeddedNetwork.open({ dir, durability: "process" });
  const resonate = new Resonate({ network, pid: network.pid });
  const one = resonate.register("one", async (ctx: Context, i: number) => ctx.run(async () => i));
  try {
    for (let first = 0; first < executions; first += 100) {
      const handles = await Promise.all(
        Array.from({ length: Math.min(100, executions - first) }, (_, k) =>
          one.run(`history-${first + k}`, first + k),
        ),
      );
      await Promise.all(handles.map((handle) => handle.result()));
    }
  } finally {
    await resonate.stop();
    await network.close();
  }
}

async function measureOpen(name: string, dir: string): Promise<Measurement> {
  const samples: number[] = [];
  let totalMs = 0;
  for (let i = 0; i < OPEN_SAMPLES + 2; i++) {
    const started = performance.now();
    const network = EmbeddedNetwork.open({ dir });
    const elapsed = performance.now() - started;
    await network.close();
    // The first two opens warm the file cache and the JIT.
    if (i < 2) continue;
    samples.push(elapsed);
    totalMs += elapsed;
  }
  samples.sort((a, b) => a - b);
  return {
    name,
    medianUs: percentile(samples, 0.5) * 1000,
    p99Us: percentile(samples, 0.99) * 1000,
    opsPerSec: samples.length / (totalMs / 1000),
  };
}

async function measureOpens(): Promise<void> {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-open-empty-"));
  const full = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-open-history-"));
  try {
    await writeHistory(full, HISTORY_EXECUTIONS);
    await writeHistory(empty, 0);
    const rows = [
      await measureOpen(EMPTY_STORE, empty),
      await measureOpen(`${HISTORY_EXECUTIONS.toLocaleString("en-US")} completed executions`, full),
    ];
    printTable(`store open (EmbeddedNetwork.open), ${OPEN_SAMPLES} opens each`, rows, EMPTY_STORE);
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
    fs.rmSync(full, { recursive: true, force: true });
  }
}

interface BurstResult {
  name: string;
  stepsPerSec: number;
  commitsPerStep: number | undefined;
  syncsPerStep: number | undefined;
}

/** 100 concurrent executions x 10 steps (after one warm-up burst). */
async function measureBurst(
  name: string,
  network: Network,
  counters?: () => { commits: number; checkpoints: number },
  machine = false,
): Promise<BurstResult> {
  const resonate = resonateOn(network);
  const workflow = resonate.register("burst", async (ctx: Context, n: number) => {
    let total = 0;
    for (let i = 0; i < CONCURRENT_STEPS; i++) total += await ctx.run(async () => n + i);
    return total;
  });
  const burst = async (prefix: string) => {
    const handles = await Promise.all(
      Array.from({ length: CONCURRENT_EXECUTIONS }, (_, n) => workflow.run(`${prefix}-${n}`, n)),
    );
    await Promise.all(handles.map((handle) => handle.result()));
  };
  try {
    await burst("warm");
    const before = counters?.();
    const started = performance.now();
    await burst("burst");
    const elapsedMs = performance.now() - started;
    const after = counters?.();
    const steps = CONCURRENT_EXECUTIONS * CONCURRENT_STEPS;
    const commits = before && after ? after.commits - before.commits : undefined;
    const checkpoints = before && after ? after.checkpoints - before.checkpoints : undefined;
    return {
      name,
      stepsPerSec: steps / (elapsedMs / 1000),
      commitsPerStep: commits === undefined ? undefined : commits / steps,
      syncsPerStep:
        commits === undefined || checkpoints === undefined
          ? undefined
          : ((machine ? commits : 0) + 2 * checkpoints) / steps,
    };
  } finally {
    await resonate.stop();
  }
}

function printBursts(rows: BurstResult[]): void {
  console.log(
    `\n${CONCURRENT_EXECUTIONS} concurrent executions x ${CONCURRENT_STEPS} steps (ctx.run)`,
  );
  const cell = (value: number | undefined, digits: number) =>
    value === undefined ? "n/a" : value.toFixed(digits);
  console.log(
    `${"".padEnd(34)}  ${"steps/s".padStart(8)}  ${"commits/step".padStart(12)}  ${"fsyncs/step".padStart(11)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(34)}  ${row.stepsPerSec.toFixed(0).padStart(8)}  ${cell(row.commitsPerStep, 3).padStart(12)}  ${cell(row.syncsPerStep, 3).padStart(11)}`,
    );
  }
}

export default async function run(): Promise<void> {
  await measureOpens();
  const rows: Measurement[] = [await measureSteps(BASELINE, new LocalNetwork())];
  for (const durability of ["process", "machine"] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-bench-"));
    const network = EmbeddedNetwork.open({ dir, durability });
    try {
      rows.push(await measureSteps(`EmbeddedNetwork durability=${durability}`, network));
    } finally {
      await network.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(
    `durable step (ctx.run) latency, ${EXECUTIONS} executions x ${STEPS_PER_EXECUTION} steps`,
    rows,
    BASELINE,
  );

  const bursts = [await measureBurst(BASELINE, new LocalNetwork())];
  for (const durability of ["process", "machine"] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-burst-"));
    const network = EmbeddedNetwork.open({ dir, durability });
    try {
      bursts.push(
        await measureBurst(
          `EmbeddedNetwork durability=${durability}`,
          network,
          () => network.writeCounters(),
          durability === "machine",
        ),
      );
    } finally {
      await network.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  printBursts(bursts);
}

if (import.meta.main) await run();
