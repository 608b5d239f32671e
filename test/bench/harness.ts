/**
 * A tiny benchmark harness: time an operation in calibrated batches, report median and
 * p99 per operation, and print rows as an aligned table with a ratio against a
 * baseline row measured in the same run. Benchmarks never assert on timing.
 */

export interface Measurement {
  name: string;
  /** Median time per operation, microseconds. */
  medianUs: number;
  /** 99th percentile time per operation (over batches), microseconds. */
  p99Us: number;
  /** Operations per second over all measured batches. */
  opsPerSec: number;
}

export interface MeasureOptions {
  /** Batches to time (default 200). */
  samples?: number;
  /** Each batch repeats the operation until it takes at least this long (default 0.5 ms). */
  minBatchMs?: number;
  /** Warm-up time before measuring, so the JIT has settled (default 100 ms). */
  warmupMs?: number;
}

/** Keeps results alive so the engine cannot drop the measured work as dead code. */
let sink: unknown;
export function consume(value: unknown): void {
  sink = value;
}

/** Times `operation` and returns its per-operation statistics. */
export function measure(
  name: string,
  operation: () => unknown,
  options: MeasureOptions = {},
): Measurement {
  const samples = options.samples ?? 200;
  const minBatchNs = (options.minBatchMs ?? 0.5) * 1e6;
  const warmupEnd = performance.now() + (options.warmupMs ?? 100);
  while (performance.now() < warmupEnd) sink = operation();

  // Calibrate: double the batch until one batch is long enough to time precisely.
  let batch = 1;
  for (;;) {
    const elapsed = timeBatch(operation, batch);
    if (elapsed >= minBatchNs || batch >= 1 << 24) break;
    batch *= 2;
  }

  const perOpNs: number[] = [];
  let totalNs = 0;
  for (let i = 0; i < samples; i++) {
    const elapsed = timeBatch(operation, batch);
    totalNs += elapsed;
    perOpNs.push(elapsed / batch);
  }
  perOpNs.sort((x, y) => x - y);
  return {
    name,
    medianUs: percentile(perOpNs, 0.5) / 1000,
    p99Us: percentile(perOpNs, 0.99) / 1000,
    opsPerSec: (samples * batch) / (totalNs / 1e9),
  };
}

function timeBatch(operation: () => unknown, batch: number): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < batch; i++) sink = operation();
  return Number(process.hrtime.bigint() - start);
}

/** The value at `fraction` (0..1) of ascending `sorted` values (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

/**
 * The statistics of operations timed one by one (durations in milliseconds), for
 * benchmarks whose operations are too slow or too stateful for `measure`'s batches.
 */
export function fromDurationsMs(name: string, durationsMs: readonly number[]): Measurement {
  const sorted = [...durationsMs].sort((a, b) => a - b);
  const totalMs = sorted.reduce((sum, value) => sum + value, 0);
  return {
    name,
    medianUs: percentile(sorted, 0.5) * 1000,
    p99Us: percentile(sorted, 0.99) * 1000,
    opsPerSec: sorted.length / (totalMs / 1000),
  };
}

/** `fromDurationsMs` for durations measured in nanoseconds (process.hrtime.bigint()). */
export function fromDurationsNs(name: string, durationsNs: readonly number[]): Measurement {
  return fromDurationsMs(
    name,
    durationsNs.map((ns) => ns / 1e6),
  );
}

/**
 * Prints rows as an aligned table. `ratio` is each row's median over the baseline row's
 * median (above 1: slower than the baseline).
 */
export function printTable(title: string, rows: Measurement[], baselineName: string): void {
  const baseline = rows.find((row) => row.name === baselineName);
  if (baseline === undefined) throw new Error(`baseline row "${baselineName}" not measured`);
  const header = ["", "median µs", "p99 µs", "ops/s", `ratio vs ${baselineName}`];
  const body = rows.map((row) => [
    row.name,
    formatNumber(row.medianUs),
    formatNumber(row.p99Us),
    Math.round(row.opsPerSec).toLocaleString("en-US"),
    `${(row.medianUs / baseline.medianUs).toFixed(2)}x`,
  ]);
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...body.map((line) => line[column]!.length)),
  );
  const format = (line: string[]): string =>
    line
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join("  ");
  console.log(`\n${title}`);
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of body) console.log(format(line));
  consume(sink);
}

function formatNumber(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}
