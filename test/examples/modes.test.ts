import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.ts";

describe("examples/modes.ts", () => {
  it("routes the four modes and cancels a blocking cell in place, keeping what it did", async () => {
    const run = await runExample("modes.ts");
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/ simple_sync +const squares[^\n]*\n +→ \[ 1, 4, 9 \]/);
    expect(out).toMatch(/ async_def +new Promise[^\n]*\n +→ 3/);
    expect(out).toMatch(/ top_level_await +const sum = await[^\n]*\n +→ 14/);
    expect(out).toMatch(/ blocking_sync +Atomics\.wait[^\n]*\n +→ 'waited 50 ms'/);
    expect(out).toContain("output: looping forever on the worker's main thread");
    expect(out).toContain("the cell: cancelled (EXECUTION_CANCELLED)");
    expect(out).toContain("next cell at once, same session: { counter: 1000, samePid: true }");
  });
});
