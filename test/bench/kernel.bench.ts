/**
 * Jupyter kernel request costs over real ZeroMQ against a real `capsule kernel` process,
 * each request timed from send to its reply (an execute: to its idle status), beside
 * `kernel_info_request` (answered by the kernel alone) as the baseline of the same run:
 * 1. complete and inspect (an `introspect` request to the session's worker, no cell);
 * 2. execute of a plain result, of a non-plain result (a class instance: the kernel then
 *    looks for a `Jupyter.display` bundle), and of a cell sending a display() bundle.
 * Run: `node test/bench/run.ts kernel`.
 */
import { cleanup } from "../cli/cli-process.ts";
import { startKernel } from "../kernel/kernel-process.ts";
import { fromDurationsMs, type Measurement, printTable } from "./harness.ts";

const ROUNDS = Number(process.env.BENCH_KERNEL_ROUNDS ?? 60);
const WARMUP = 5;
const BASELINE = "kernel_info_request (kernel only)";

async function timed(name: string, operation: () => Promise<unknown>): Promise<Measurement> {
  for (let i = 0; i < WARMUP; i++) await operation();
  const durations: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await operation();
    durations.push(performance.now() - started);
  }
  return fromDurationsMs(name, durations);
}

export default async function kernelBench(): Promise<void> {
  const kernel = await startKernel();
  const { client } = kernel;
  try {
    await client.execute(
      "const big = Array.from({ length: 1000 }, (_, i) => ({ i, name: 'n' + i }));" +
        "class Point { constructor(x) { this.x = x } }",
    );
    const rows: Measurement[] = [];
    rows.push(await timed(BASELINE, () => client.request("shell", "kernel_info_request")));
    rows.push(
      await timed("complete_request `big.fil`", () =>
        client.request("shell", "complete_request", { code: "big.fil", cursor_pos: 7 }),
      ),
    );
    rows.push(
      await timed("inspect_request `big`", () =>
        client.request("shell", "inspect_request", { code: "big", cursor_pos: 1 }),
      ),
    );
    rows.push(await timed("execute `1 + 1` (plain result)", () => client.execute("1 + 1")));
    // The same names used as the next row, with a plain result: what the next row adds
    // over it is the kernel's look for a Jupyter.display bundle.
    rows.push(
      await timed("execute `Point.name` (plain result, uses the class)", () =>
        client.execute("Point.name"),
      ),
    );
    rows.push(
      await timed("execute `new Point(1)` (non-plain result)", () =>
        client.execute("new Point(1)"),
      ),
    );
    rows.push(
      await timed("execute `display(bundle, { raw: true })`", () =>
        client.execute('display({ "text/html": "<b>x</b>" }, { raw: true })'),
      ),
    );
    printTable(`kernel requests over ZeroMQ (${ROUNDS} each, send → reply/idle)`, rows, BASELINE);
  } finally {
    client.close();
    await cleanup();
  }
}
