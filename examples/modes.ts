/**
 * Execution modes: Capsule parses each cell and routes it to an executor.
 *
 * | mode            | the cell                                  | runs on                         |
 * |-----------------|-------------------------------------------|---------------------------------|
 * | simple_sync     | plain synchronous code                    | the worker's main thread        |
 * | async_def       | its value is a promise                    | the worker's event loop         |
 * | top_level_await | `await` / `for await` at the top level    | the worker's event loop         |
 * | blocking_sync   | `*Sync` calls, `Atomics.wait`, `input()`, | a worker thread, so the session |
 * |                 | unbounded loops                           | process stays responsive        |
 *
 * Then a blocking cell is cancelled: its thread is terminated, the worker process lives on
 * (same pid), and the namespace is exactly as before the cell (a threaded cell works on a
 * copy that is merged back only when it finishes).
 */
import { CancelledError, detectMode, SessionPool } from "../src/index.ts";

const CELLS: [string, string][] = [
  ["simple_sync", "const squares = [1, 2, 3].map((n) => n * n); squares"],
  ["async_def", "new Promise((resolve) => setTimeout(() => resolve(squares.length), 10))"],
  ["top_level_await", "const sum = await Promise.resolve(squares.reduce((a, b) => a + b)); sum"],
  [
    "blocking_sync",
    "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); 'waited 50 ms'",
  ],
];

const pool = new SessionPool({ minIdle: 0, maxSessions: 1 });
try {
  const session = await pool.acquire();
  try {
    console.log("Capsule: execution modes\n");
    console.log("1. each cell's mode is detected by parsing it, then it runs on its executor:");
    for (const [expected, code] of CELLS) {
      const detected = detectMode(code);
      const result = await session.execute(code);
      if (detected !== expected || result.mode !== expected) {
        throw new Error(`expected ${expected}, detected ${detected}, ran as ${result.mode}`);
      }
      console.log(`   ${result.mode.padEnd(15)} ${code}`);
      console.log(`     → ${result.display}`);
    }

    console.log("\n2. a blocking cell is cancelled while the session stays responsive:");
    await session.execute("let counter = 0; const before = process.pid");
    const controller = new AbortController();
    const blocking = session.execute(
      `counter = 1000;
console.log("looping forever on a worker thread");
while (true) {}`,
      {
        signal: controller.signal,
        onOutput: (chunk) => {
          process.stdout.write(`   output: ${chunk.data}`);
          // The cell is running (its output arrived while it loops): cancel it.
          console.log("   cancelling it");
          controller.abort();
        },
      },
    );
    const outcome = await blocking.then(
      () => "finished?!",
      (error: unknown) =>
        error instanceof CancelledError ? `cancelled (${error.code})` : `failed: ${String(error)}`,
    );
    console.log(`   the cell: ${outcome}`);
    const after = await session.execute("({ counter, samePid: process.pid === before })");
    console.log(`   next cell at once, same session: ${after.display}`);
    const { counter, samePid } = after.value as { counter: number; samePid: boolean };
    if (counter !== 0 || !samePid) {
      throw new Error("the cancelled cell changed the namespace or restarted the worker");
    }
    console.log(
      "   same worker process, and counter is still 0: the cancelled cell changed nothing",
    );
  } finally {
    session.release();
  }
} finally {
  await pool.close();
}
