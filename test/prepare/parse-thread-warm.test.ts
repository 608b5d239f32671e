/**
 * Warming the parse threads ahead of a cell (what a host does while it waits for a worker,
 * see session.ts loadCellPreparation): one thread starts and loads the parser, a job that
 * arrives meanwhile waits for that thread instead of starting a second cold one, and a
 * warm-up never outlives its pool.
 */
import { afterEach, describe, expect, it } from "vitest";
import { prepareCell } from "../../src/prepare/index.ts";
import {
  closeSharedParseThreads,
  INLINE_PREPARE_MAX_LENGTH,
  sharedParseThreads,
  warmPreparation,
} from "../../src/prepare/off-loop.ts";
import { ParseThreadPool } from "../../src/prepare/parse-thread.ts";

const pools: ParseThreadPool[] = [];
function pool(): ParseThreadPool {
  const created = new ParseThreadPool();
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((each) => each.close()));
  await closeSharedParseThreads();
});

const JOB = { timeoutMs: 30_000 };
const CELL = "const total: number = [1, 2, 3].reduce((a, b) => a + b, 0);\ntotal";

describe("ParseThreadPool.warm", () => {
  it("starts one thread, and a job that comes during its warm-up waits for that thread", async () => {
    const threads = pool();
    threads.warm();
    expect(threads.threads).toBe(1);
    // The thread has not even booted yet: without the warm-up mark this would start a second.
    const prepared = threads.prepare(CELL, {}, JOB);
    expect(threads.threads).toBe(1);
    expect(await prepared).toEqual(prepareCell(CELL));
    expect(threads.threads).toBe(1);
  });

  it("does nothing when a thread runs already or the pool is closed", async () => {
    const threads = pool();
    await threads.prepare(CELL, {}, JOB);
    threads.warm();
    expect(threads.threads).toBe(1);
    const closed = pool();
    await closed.close();
    closed.warm();
    expect(closed.threads).toBe(0);
  });

  it("ends with its pool: close() during the warm-up leaves no thread and rejects nothing", async () => {
    const threads = pool();
    threads.warm();
    await threads.close();
    expect(threads.threads).toBe(0);
  });
});

describe("warmPreparation", () => {
  it("warms a parse thread for a cell that will go to one, and none for a small cell", async () => {
    warmPreparation("1 + 1");
    expect(sharedParseThreads().threads).toBe(0);
    warmPreparation("x".repeat(INLINE_PREPARE_MAX_LENGTH + 1));
    expect(sharedParseThreads().threads).toBe(1);
    const big = `${CELL}\n${"// padding\n".repeat(20)}`;
    expect(await sharedParseThreads().prepare(big, {}, JOB)).toEqual(prepareCell(big));
    expect(sharedParseThreads().threads).toBe(1);
  });
});
