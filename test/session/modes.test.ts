import { describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";

describe("execution modes", () => {
  it("routes each kind of cell to its mode", async () => {
    const session = await startSession();
    const cases: [string, string][] = [
      ["1 + 1", "simple_sync"],
      ["async function f() { return 1 } f()", "async_def"],
      ["Promise.resolve(3).then((x) => x * 2)", "async_def"],
      ["await Promise.resolve(1)", "top_level_await"],
      ["require('node:fs').existsSync('.')", "blocking_sync"],
      ["Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1)", "blocking_sync"],
    ];
    for (const [code, mode] of cases) {
      expect({ code, mode: (await session.execute(code)).mode }).toEqual({ code, mode });
    }
  });

  it("promotes a simple cell whose value turns out to be a promise to async_def", async () => {
    const session = await startSession();
    await session.execute(
      "const later = () => new Promise((resolve) => setTimeout(() => resolve('done'), 5))",
    );
    const r = await session.execute("later()");
    expect(r.mode).toBe("async_def");
    expect(r.value).toBe("done");
  });

  it("lets a user force a mode", async () => {
    const session = await startSession();
    const r = await session.execute("const forced = 2 * 21; forced", { mode: "blocking_sync" });
    expect(r.mode).toBe("blocking_sync");
    expect(r.value).toBe(42);
    expect((await session.execute("forced")).value).toBe(42);
  });

  it("keeps top-level await declarations, loops and destructuring", async () => {
    const session = await startSession();
    await session.execute(`
      const { a, b: [c] } = await Promise.resolve({ a: 1, b: [2] });
      let total = 0;
      for (const n of [1, 2, 3]) total += await Promise.resolve(n);
      async function* gen() { yield 10; yield 20 }
      const seen = [];
      for await (const x of gen()) seen.push(x);
    `);
    expect((await session.execute("[a, c, total, seen]")).value).toEqual([1, 2, 6, [10, 20]]);
  });

  it("keeps comma semantics of `await a, b`", async () => {
    const session = await startSession();
    expect((await session.execute("await 1, 2")).value).toBe(2);
  });

  it("rejects with the user's error from a top-level await cell", async () => {
    const session = await startSession();
    await expect(
      session.execute("await Promise.reject(new TypeError('nope'))"),
    ).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
      errorName: "TypeError",
    });
  });

  it("keeps what a cell did before it threw, on either executor (notebook semantics)", async () => {
    const session = await startSession();
    for (const [code, mode] of [
      ["let onLoop = 7; null.boom", "simple_sync"],
      ["let onThread = 8; require('node:fs').existsSync('.'); null.boom", "blocking_sync"],
    ] as const) {
      const error = await session.execute(code).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "EXECUTION_ERROR", errorName: "TypeError" });
      expect((await session.execute("1", { mode })).mode).toBe(mode);
    }
    expect((await session.execute("[onLoop, onThread]")).value).toEqual([7, 8]);
  });

  it("runs a blocking cell on a thread that sees and updates the namespace", async () => {
    const session = await startSession();
    await session.execute(
      "const base = 40; const items = [1]; function add(x) { return x + base }",
    );
    const r = await session.execute(`
      const fs = require('node:fs');
      const exists = fs.existsSync('.');
      items.push(2);
      const answer = add(2);
      answer
    `);
    expect(r.mode).toBe("blocking_sync");
    expect(r.value).toBe(42);
    expect((await session.execute("[answer, exists, items]")).value).toEqual([42, true, [1, 2]]);
  });
});
