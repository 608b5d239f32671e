/**
 * Measures cell preparation, inline and on a parse thread, and how long a large cell
 * holds the host's event loop either way. Not a test: run it by hand.
 *   npx node --max-old-space-size=6000 test/prepare/measure-prepare.ts \
 *     [--only-10mb] [--skip-inline-10mb]
 */
import { prepareCell } from "../../src/prepare/index.ts";
import { closeSharedParseThreads, prepareCellOffLoop } from "../../src/prepare/off-loop.ts";
import { ParseThreadPool } from "../../src/prepare/parse-thread.ts";

/** About `bytes` of ordinary statements: declarations, calls, object literals. */
function cellOf(bytes: number): string {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `const v${i} = { a: ${i}, b: "x${i}" }; f(v${i});`;
    lines.push(line);
    length += line.length + 1;
  }
  return lines.join("\n");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timeEach(runs: number, fn: () => unknown): Promise<number> {
  await fn(); // warm
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  return median(times);
}

const format = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(1)} ms`);
const generous = { timeoutMs: 600_000 };
const pool = new ParseThreadPool();

if (!process.argv.includes("--only-10mb")) await prepareTimes();

async function prepareTimes(): Promise<void> {
  console.log("prepare time (median)            inline        parse thread");
  for (const [label, code, runs] of [
    ["1 + 1", "1 + 1", 2000],
    ["one-line cell (60 B)", "const xs = [1, 2, 3].map((x) => x * 2); console.log(xs)", 2000],
    ["256 B", cellOf(256), 500],
    ["2 KiB", cellOf(2048), 200],
    ["100 KB", cellOf(100_000), 5],
    ["1 MB", cellOf(1_000_000), 3],
  ] as const) {
    const inline = await timeEach(runs, () => prepareCell(code));
    const threaded = await timeEach(runs, () => pool.prepare(code, {}, generous));
    console.log(`${label.padEnd(32)} ${format(inline).padEnd(13)} ${format(threaded)}`);
  }
  await pool.close();
}

/**
 * The longest the event loop was held while `fn` ran: the largest gap between turns of a
 * 1 ms interval timer (a blocked loop runs no timer, so the gap is the block).
 */
async function loopHeld(
  fn: () => Promise<unknown>,
): Promise<{ maxMs: number; wallMs: number; outcome: string }> {
  let last = performance.now();
  let maxGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  maxGap = 0;
  const started = performance.now();
  let outcome: string;
  try {
    await fn();
    outcome = "prepared";
  } catch (error) {
    outcome = (error as { code?: string }).code ?? String(error);
  }
  const wallMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 20)); // the turn after a sync block
  clearInterval(ticker);
  return { maxMs: maxGap, wallMs, outcome };
}

const tenMb = cellOf(10_000_000);
console.log(
  `\nhost event loop during a ${(tenMb.length / 1e6).toFixed(1)} MB cell: longest block, wall time, outcome`,
);
const report = (label: string, r: { maxMs: number; wallMs: number; outcome: string }) =>
  console.log(
    `${label.padEnd(44)} ${format(r.maxMs).padEnd(10)} ${format(r.wallMs).padEnd(10)} ${r.outcome}`,
  );
report(
  "after, default limits (1 MiB)",
  await loopHeld(() => prepareCellOffLoop(tenMb, { maxBytes: 1 << 20, ...generous })),
);
report(
  "after, cellBytes 16 MiB (parse thread)",
  await loopHeld(() => prepareCellOffLoop(tenMb, { maxBytes: 16 << 20, ...generous })),
);
await closeSharedParseThreads();
if (!process.argv.includes("--skip-inline-10mb")) {
  report("before: inline on the host's loop", await loopHeld(async () => prepareCell(tenMb)));
}
