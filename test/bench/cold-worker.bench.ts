/**
 * A fresh worker's cells by position: `execute("1")` round trip and the worker's own CPU
 * per cell (all its threads, from `/proc/<pid>/task/<tid>/schedstat`), for cells 2–10,
 * 11–20, 21–40 and 41–100 of a new session, against cells 101–200 of the same workers.
 * Every durable execution leases a fresh worker, so its cells run where this curve is
 * high; the rows say how much of that is the worker's own work. The "warmed up" rows are
 * the same for workers that ran `Session.warmUp()` first, as a pool's idle workers do
 * (src/session/warm-up.ts); fresh and warmed-up workers take turns.
 */
import { Session } from "../../src/index.ts";
import { fromDurationsMs, type Measurement, printTable } from "./harness.ts";
import { threadsCpuTimeUs } from "./processes.ts";

const WORKERS = 6;
const CELLS = 200;
/** Cells by position (1-based, inclusive), the last one the baseline. */
const BUCKETS: ReadonlyArray<readonly [number, number]> = [
  [2, 10],
  [11, 20],
  [21, 40],
  [41, 100],
  [101, 200],
];

/** Adds the round trip and the worker's CPU of cells 2-`CELLS` of one session to the buckets. */
async function measureWorker(warmUp: boolean, wall: number[][], cpu: number[][]): Promise<void> {
  const session = new Session();
  await session.start();
  try {
    const pid = session.pid;
    if (pid === undefined) throw new Error("a started session has no worker pid");
    if (warmUp) await session.warmUp();
    // Cell 1 is left out: it may wait for the worker's idle warm-up (workers/warm-up.ts).
    await session.execute("0");
    for (let cell = 2; cell <= CELLS; cell++) {
      const before = threadsCpuTimeUs(pid);
      const started = performance.now();
      await session.execute("1");
      const elapsed = performance.now() - started;
      const used = (threadsCpuTimeUs(pid) - before) / 1000;
      const bucket = BUCKETS.findIndex(([from, to]) => cell >= from && cell <= to);
      wall[bucket]?.push(elapsed);
      cpu[bucket]?.push(used);
    }
  } finally {
    await session.close();
  }
}

export default async function run(): Promise<void> {
  const buckets = () => BUCKETS.map(() => [] as number[]);
  const fresh = { wall: buckets(), cpu: buckets() };
  const warmed = { wall: buckets(), cpu: buckets() };
  for (let w = 0; w < WORKERS; w++) {
    await measureWorker(false, fresh.wall, fresh.cpu);
    await measureWorker(true, warmed.wall, warmed.cpu);
  }
  const name = ([from, to]: readonly [number, number]) => `cells ${from}-${to}`;
  const rows = (samples: number[][], prefix = ""): Measurement[] =>
    BUCKETS.map((bucket, i) => fromDurationsMs(`${prefix}${name(bucket)}`, samples[i] ?? []));
  const baseline = name(BUCKETS[BUCKETS.length - 1] ?? [0, 0]);
  printTable(
    `a fresh worker: execute("1") round trip by cell (${WORKERS} workers of each kind)`,
    [...rows(fresh.wall), ...rows(warmed.wall, "warmed up: ")],
    baseline,
  );
  printTable(
    "a fresh worker: the worker's CPU per cell, all threads",
    [...rows(fresh.cpu), ...rows(warmed.cpu, "warmed up: ")],
    baseline,
  );
}
