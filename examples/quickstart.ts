/**
 * Quickstart: a durable function whose steps are code cells.
 *
 * `capsule.register(name, fn)` makes a durable function; inside it `ctx.session("main")`
 * is an isolated session (a worker process with a persistent namespace) whose every
 * `execute` is a durable step: its result, output and a checkpoint of the namespace are
 * recorded in the store. Running the same execution id again returns the recorded result
 * without running anything. The store lives in a temporary directory, removed at the end.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Capsule } from "../durable/index.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-quickstart-"));
console.log("Capsule quickstart");
console.log(`store: ${dir}\n`);

const capsule = await Capsule.open({ dir, pool: { minIdle: 0 } });
try {
  const stats = capsule.register("stats", async (ctx, numbers: number[]) => {
    const session = ctx.session("main");
    const cell = async (code: string) => {
      console.log(`  cell: ${code}`);
      const result = await session.execute(code, {
        onOutput: (chunk) => process.stdout.write(`    | ${chunk.data}`),
      });
      console.log(`    → ${result.display}${result.replayed ? " (replayed from the record)" : ""}`);
      return result;
    };
    // Top-level declarations persist from one cell to the next.
    await cell(`const data = ${JSON.stringify(numbers)}`);
    const mean = await cell("const mean = data.reduce((a, b) => a + b, 0) / data.length; mean");
    await cell('console.log(data.length + " numbers, mean " + mean)');
    const sd = await cell(
      "Math.sqrt(data.reduce((sum, x) => sum + (x - mean) ** 2, 0) / data.length)",
    );
    return { mean: mean.value, sd: sd.value };
  });

  console.log('run "stats-1" with [2, 4, 4, 4, 5, 5, 7, 9]:');
  const handle = await stats.run("stats-1", [2, 4, 4, 4, 5, 5, 7, 9]);
  console.log(`result: ${JSON.stringify(await handle.result())}\n`);

  console.log('run "stats-1" again: the id is the idempotency key, nothing runs twice');
  const again = await stats.run("stats-1", [2, 4, 4, 4, 5, 5, 7, 9]);
  console.log(`result: ${JSON.stringify(await again.result())}\n`);

  const view = await capsule.show("stats-1");
  console.log(
    `the store holds ${view.cells.length} recorded cells of "stats-1" (state ${view.state});`,
  );
  console.log(
    "`capsule show stats-1 --dir <store>` prints them, `capsule tree stats-1` the call graph.",
  );
} finally {
  await capsule.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
