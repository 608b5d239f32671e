// A pooled worker's idle warm-up (workers/warm-up.ts) runs the cell path and the codec on
// throwaway input: nothing of it may reach the namespace, the realm or a checkpoint.
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { WorkerCrashedError } from "../../src/errors.ts";
import { SessionPool } from "../../src/session/pool.ts";
import { startSession } from "./helpers.ts";

let pool: SessionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("a fresh worker's idle warm-up", () => {
  it("leaves the namespace empty, the realm's built-ins untouched and the first checkpoint the user's own", async () => {
    pool = new SessionPool({ minIdle: 2, maxSessions: 4, checkpoint: true });
    const session = await pool.acquire();
    // No name from the warm-up's sample (n, s, list, rows, at, m) exists in the realm.
    const seen = await session.execute(
      "[typeof n, typeof s, typeof list, typeof rows, typeof at, typeof m, typeof _, JSON.parse('[1]').length, new Map([[1, 2]]).get(1)]",
    );
    expect(seen.value).toEqual([
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      expect.any(String),
      1,
      2,
    ]);
    await session.execute("const kept = { rows: [{ a: 1 }], at: new Date(5) }");
    const checkpoint = await session.checkpoint();
    // Restored elsewhere (another warmed worker): exactly the user's one name comes back.
    const other = await pool.acquire();
    const report = await other.restore(checkpoint);
    expect(report).toEqual({ names: ["kept"], failed: [] });
    expect((await other.execute("[kept.rows[0].a, kept.at.getTime()]")).value).toEqual([1, 5]);
    session.release();
    other.release();
  });
});

describe("warm-up cells (Session.warmUp)", () => {
  it("leave no trace: no cell number, no `_`, no checkpoint, no execution counted", async () => {
    const session = await startSession({ checkpoint: true });
    expect(await session.warmUp(12)).toBe(12);
    expect(session.executions).toBe(0);
    expect(session.lastCheckpoint()).toBeUndefined();
    // Each warm-up cell's value is 0: none of them became `_`.
    expect((await session.execute("[typeof _, globalThis._ === 0]")).value).toEqual([
      "undefined",
      false,
    ]);
    // The user's second cell is cell 2: warm-up cells are not numbered.
    const failed = session.execute("throw new Error('where')");
    await expect(failed).rejects.toMatchObject({
      userStack: expect.stringContaining("at cell-2.js"),
    });
    expect(session.executions).toBe(2);
  });

  it("gives way to the session's first cell after the warm-up cell in flight", async () => {
    const session = await startSession();
    const warming = session.warmUp(100_000);
    expect((await session.execute("1 + 1")).value).toBe(2);
    const ran = await warming;
    expect(ran).toBeGreaterThanOrEqual(0);
    expect(ran).toBeLessThan(100_000);
    // A session that has run a cell is not warmed up again.
    expect(await session.warmUp(5)).toBe(0);
  });

  it("stays out of the way of an execute that began just before it", async () => {
    const session = await startSession();
    // The execute has not sent its cell yet when the warm-up starts.
    const result = session.execute("1 + 1");
    const warming = session.warmUp(100_000);
    expect((await result).value).toBe(2);
    expect(await warming).toBe(0);
  });

  it("ends without an error when the session closes during it", async () => {
    const session = await startSession();
    const warming = session.warmUp(100_000);
    await session.close();
    const ran = await warming;
    expect(ran).toBeLessThan(100_000);
  });

  it("fails with the crash when the worker is killed during it, and the session goes on", async () => {
    const session = await startSession();
    const pid = session.pid;
    if (pid === undefined) throw new Error("no worker");
    const warming = session.warmUp(100_000);
    const exited = once(session, "worker-exit");
    process.kill(pid, "SIGKILL");
    await expect(warming).rejects.toBeInstanceOf(WorkerCrashedError);
    await exited;
    // A fresh worker took over; the session still counts no cell of its own.
    expect((await session.execute("1 + 1")).value).toBe(2);
    expect(session.pid).not.toBe(pid);
    expect(session.executions).toBe(1);
  });

  it("runs in a pool's idle sessions, and a leased one starts at cell 1", async () => {
    pool = new SessionPool({ minIdle: 2, warmUpCells: 30 });
    // Both idle sessions started and ran their 30 warm-up cells.
    await pool.whenWarm();
    expect(pool.idle).toBe(2);
    const session = await pool.acquire();
    expect(session.executions).toBe(0);
    await expect(session.execute("throw new Error('where')")).rejects.toMatchObject({
      userStack: expect.stringContaining("at cell-1.js"),
    });
    session.release();
  });
});
