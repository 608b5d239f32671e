/**
 * Durable step overhead: the time of one `ctx.run` step (record the step's promise, run
 * a trivial function, record its result) inside a workflow on the SDK's in-memory
 * LocalNetwork (baseline) and on the embedded store with `synchronous=NORMAL` and
 * `synchronous=FULL` (the default). Each step is timed individually inside the workflow.
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

function percentile(sorted: number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function measureSteps(name: string, network: Network): Promise<Measurement> {
  const resonate = new Resonate({ network });
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
}

if (import.meta.main) await run();
