/**
 * A long session does not grow with the number of cells it ran: a cell's compiled script
 * is garbage once the cell is done (V8's compilation cache would otherwise keep every one,
 * ~1.3 KiB each; see src/vm/uncached-script.ts).
 */
import { describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";

/** The worker's V8 heap after two full GCs, measured by a cell (none of it is kept). */
const HEAP_AFTER_GC = `await (async () => {
  const { setFlagsFromString } = await import("node:v8");
  const { runInNewContext } = await import("node:vm");
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc");
  collect();
  collect();
  return process.memoryUsage().heapUsed;
})()`;

const CELLS = 3000;

describe("memory across many cells", () => {
  it("keeps no per-cell garbage: the heap after 3,000 cells is what it was", async () => {
    const session = await startSession({ checkpoint: false });
    // A first pass loads and compiles everything the cell path uses.
    await session.execute(HEAP_AFTER_GC);
    for (let i = 0; i < 100; i++) await session.execute("1 + 1");
    const before = (await session.execute(HEAP_AFTER_GC)).value as number;
    for (let i = 0; i < CELLS; i++) await session.execute("1 + 1");
    const after = (await session.execute(HEAP_AFTER_GC)).value as number;
    // With every cell's script kept, this is ~1,300 B a cell (3.9 MB in all).
    expect((after - before) / CELLS).toBeLessThan(300);
    // The namespace and the compilation of later cells are unaffected.
    await session.execute("let kept = [1, 2, 3]");
    expect((await session.execute("eval('kept.length') + new Function('return 1')()")).value).toBe(
      4,
    );
  });
});
