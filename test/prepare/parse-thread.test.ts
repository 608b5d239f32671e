/**
 * The host's parse threads: they prepare exactly what inline preparation does, carry its
 * errors across, and a job that is too slow, too big or cancelled fails alone while the
 * pool replaces its thread.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import {
  CancelledError,
  CellSizeLimitError,
  ExecutionError,
  MemoryLimitError,
  TimeoutError,
} from "../../src/errors.ts";
import { checkCellSize } from "../../src/prepare/cell-size.ts";
import { prepareCell } from "../../src/prepare/index.ts";
import {
  closeSharedParseThreads,
  INLINE_PREPARE_MAX_LENGTH,
  prepareCellOffLoop,
  sharedParseThreads,
} from "../../src/prepare/off-loop.ts";
import { ParseThreadPool } from "../../src/prepare/parse-thread.ts";

const pools: ParseThreadPool[] = [];
function pool(options: ConstructorParameters<typeof ParseThreadPool>[0] = {}): ParseThreadPool {
  const created = new ParseThreadPool(options);
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((each) => each.close()));
  await closeSharedParseThreads();
});

/** `lines` statements, about 20 bytes each: slow enough to parse to be caught mid-way. */
function statements(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `total = total + ${i};`).join("\n");
}

const generous = { timeoutMs: 120_000 };

describe("a parse thread", () => {
  it("prepares a cell exactly as inline preparation does", async () => {
    const threads = pool();
    expect(threads.threads).toBe(0);
    const cells = [
      "const a: number = 1\nlet b = a + 1\nb",
      "import { join } from 'node:path'\nconst p = await Promise.resolve(join('a', 'b'))\np;;",
      "enum Color { Red, Green }\nColor.Green",
      "{ a: await Promise.resolve(1) }",
      "function spin() { while (true) {} }\nconst fs = require('node:fs'); fs.readFileSync('x')",
    ];
    for (const cell of cells) {
      expect(await threads.prepare(cell, {}, generous)).toEqual(prepareCell(cell));
    }
    expect(await threads.prepare("1 + 1", { mode: "blocking_sync" }, generous)).toMatchObject({
      mode: "blocking_sync",
    });
    expect(threads.threads).toBe(1);
  });

  it("carries syntax and protected-name errors across with their code and position", async () => {
    const threads = pool();
    const syntax = await threads
      .prepare("const ok = 1\nconst broken = ;", {}, generous)
      .catch((error: unknown) => error);
    expect(syntax).toBeInstanceOf(ExecutionError);
    expect(syntax).toMatchObject({
      code: "EXECUTION_SYNTAX_ERROR",
      errorName: "SyntaxError",
      line: 2,
      column: 16,
    });
    const named = await threads
      .prepare("let x = 1\nconst notify = 2", { protectedNames: ["notify"] }, generous)
      .catch((error: unknown) => error);
    expect(named).toMatchObject({ code: "EXECUTION_PROTECTED_NAME", line: 2, column: 7 });
    expect((named as Error).message).toBe(
      (
        catchSync(() =>
          prepareCell("let x = 1\nconst notify = 2", { protectedNames: ["notify"] }),
        ) as Error
      ).message,
    );
  });

  it("fails a job over its time limit alone and replaces the thread", async () => {
    const threads = pool();
    const slow = await threads
      .prepare(statements(20_000), {}, { timeoutMs: 1 })
      .catch((error: unknown) => error);
    expect(slow).toBeInstanceOf(TimeoutError);
    expect(slow).toMatchObject({ code: "LIMIT_TIMEOUT" });
    expect(threads.threads).toBe(0);
    expect((await threads.prepare("2 * 3", {}, generous)).source).toBe("2 * 3");
  });

  it("fails a job that exhausts the thread's heap with LIMIT_MEMORY, and goes on", async () => {
    const threads = pool({ heapMb: 16 });
    const huge = await threads
      .prepare(statements(60_000), {}, generous)
      .catch((error: unknown) => error);
    expect(huge).toBeInstanceOf(MemoryLimitError);
    expect(huge).toMatchObject({ code: "LIMIT_MEMORY" });
    expect((await threads.prepare("'still here'", {}, generous)).source).toBe("'still here'");
  });

  it("stops a cancelled parse, running or queued", async () => {
    const threads = pool({ size: 1 });
    const controller = new AbortController();
    const running = threads.prepare(
      statements(20_000),
      {},
      { ...generous, signal: controller.signal },
    );
    const queued = threads.prepare("1", {}, { ...generous, signal: controller.signal });
    const after = threads.prepare("'after'", {}, generous);
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    await expect(queued).rejects.toBeInstanceOf(CancelledError);
    expect((await after).source).toBe("'after'");
    await expect(
      threads.prepare("1", {}, { ...generous, signal: controller.signal }),
    ).rejects.toBeInstanceOf(CancelledError);
  });

  it("runs jobs on up to `size` threads at once and fails all pending work on close", async () => {
    const threads = pool({ size: 2 });
    const jobs = [1, 2, 3].map((n) =>
      threads.prepare(statements(5_000 * n), {}, generous).catch((error: unknown) => error),
    );
    expect(threads.threads).toBe(2);
    await threads.close();
    for (const outcome of await Promise.all(jobs)) {
      expect(outcome).toMatchObject({ code: "POOL_CLOSED" });
    }
    expect(threads.threads).toBe(0);
    await expect(threads.prepare("1", {}, generous)).rejects.toMatchObject({ code: "POOL_CLOSED" });
  });

  it("never keeps its process alive: a script that prepared a big cell exits on its own", () => {
    const offLoop = fileURLToPath(new URL("../../src/prepare/off-loop.ts", import.meta.url));
    const script = `
      import { prepareCellOffLoop } from ${JSON.stringify(offLoop)};
      const cell = "total = 1;\\n".repeat(1000);
      const prepared = await prepareCellOffLoop(cell, { maxBytes: 1 << 20, timeoutMs: 60000 });
      console.log(prepared.mode);
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(child.stderr).toBe("");
    expect(child.stdout.trim()).toBe("simple_sync");
    expect([child.status, child.signal]).toEqual([0, null]);
  });
});

describe("preparing a session's cell", () => {
  it("refuses a cell over the size limit before reading it, counting UTF-8 bytes", async () => {
    expect(() => checkCellSize("a".repeat(100), 100)).not.toThrow();
    expect(() => checkCellSize("a".repeat(101), 100)).toThrow(CellSizeLimitError);
    // 40 characters, 80 bytes in UTF-8: the length alone says nothing, the bytes do.
    expect(() => checkCellSize("é".repeat(40), 80)).not.toThrow();
    const multibyte = catchSync(() => checkCellSize("é".repeat(41), 80));
    expect(multibyte).toMatchObject({ code: "LIMIT_CELL_SIZE", bytes: 82, limitBytes: 80 });
    const refused = await prepareCellOffLoop("x".repeat(5000), {
      maxBytes: 4096,
      timeoutMs: 1000,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CellSizeLimitError);
    expect((refused as Error).message).toContain("limits.cellBytes");
  });

  it("prepares small cells inline and larger ones on the shared threads", async () => {
    const small = "1 + 1";
    expect(small.length).toBeLessThanOrEqual(INLINE_PREPARE_MAX_LENGTH);
    const inline = await prepareCellOffLoop(small, { maxBytes: 1 << 20, timeoutMs: 1000 });
    expect(inline.source).toBe("1 + 1");
    expect(sharedParseThreads().threads).toBe(0);
    const large = statements(100);
    expect(large.length).toBeGreaterThan(INLINE_PREPARE_MAX_LENGTH);
    const threaded = await prepareCellOffLoop(large, { maxBytes: 1 << 20, ...generous });
    expect(threaded).toEqual(prepareCell(large));
    expect(sharedParseThreads().threads).toBe(1);
  });
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
