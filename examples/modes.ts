/**
 * Execution modes: Capsule parses each cell and routes it to an executor.
 *
 * | mode            | the cell                                  | runs on                         |
 * |-----------------|-------------------------------------------|---------------------------------|
 * | simple_sync     | plain synchronous code                    | the worker's main thread        |
 * | async_def       | its value is a promise                    | the worker's event loop         |
 * | top_level_await | `await` / `for await` at the top level    | the worker's event loop         |
 * | blocking_sync   | `*Sync` calls, `Atomics.wait`, `input()`, | the main thread, watched by the |
 * |                 | unbounded loops                           | worker's service thread         |
 *
 * Then a blocking cell is cancelled: the worker's service thread interrupts it in place,
 * the worker process lives on (same pid), and the namespace keeps what the cell did
 * before it was stopped, as in a notebook (every cell runs in the session's one realm).
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
console.log("looping forever on the worker's main thread");
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
    if (counter !== 1000 || !samePid) {
      throw new Error("the cancelled cell lost what it did or restarted the worker");
    }
    console.log(
      "   same worker process, and counter is 1000: what the cell did before the cancel stays",
    );
  } finally {
    session.release();
  }
} finally {
  await pool.close();
}
