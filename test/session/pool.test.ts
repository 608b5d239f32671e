import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SessionPool } from "../../src/session/pool.ts";
import type { Session } from "../../src/session/session.ts";
import { waitForPidsGone } from "../support/processes.ts";
import { processExists } from "./helpers.ts";

let pool: SessionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("SessionPool", () => {
  it("keeps warm sessions ready and retires a released session instead of handing it on", async () => {
    pool = new SessionPool({ minIdle: 2, maxSessions: 4 });
    const first = await pool.acquire();
    expect(first.state).toBe("READY");
    await first.execute("const secret = 'from the first user'");
    const pid = first.pid!;
    const retired = once(first, "terminated");
    first.release();
    await retired;
    expect(first.state).toBe("TERMINATED");
    expect(processExists(pid)).toBe(false);
    // Every later lease is a worker no one used before.
    const later: Session[] = [];
    for (let i = 0; i < 4; i++) later.push(await pool.acquire());
    expect(later.map((session) => session.pid)).not.toContain(pid);
    expect(later.map((session) => session.executions)).toEqual([0, 0, 0, 0]);
    expect((await later[0]!.execute("typeof secret")).value).toBe("undefined");
    for (const session of later) session.release();
  });

  it("bounds the number of sessions: acquire waits for a release, and times out", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 1, acquireTimeoutMs: 300 });
    await pool.acquire();
    await expect(pool.acquire()).rejects.toMatchObject({ code: "POOL_ACQUIRE_TIMEOUT" });
    await pool.close();
    // A waiter is served after a release: the released worker ends, then a fresh one starts.
    pool = new SessionPool({ minIdle: 0, maxSessions: 1, acquireTimeoutMs: 60_000 });
    const only = await pool.acquire();
    const waiting = pool.acquire();
    only.release();
    const next = await waiting;
    // The waiter gets a fresh worker, started once the released one had ended.
    expect(next.pid).not.toBe(only.pid);
    expect(only.state).toBe("TERMINATED");
    expect(pool.size).toBe(1);
    next.release();
  });

  it("replaces a session whose worker keeps crashing", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 2, maxRespawns: 0 });
    const doomed = await pool.acquire();
    const terminated = once(doomed, "terminated");
    await expect(doomed.execute("process.exit(1)")).rejects.toMatchObject({
      code: "WORKER_CRASHED",
    });
    await terminated;
    expect(doomed.state).toBe("TERMINATED");
    expect(pool.size).toBe(0);
    const fresh = await pool.acquire();
    expect((await fresh.execute("1 + 1")).value).toBe(2);
    fresh.release();
  });

  it("keeps a session's own worker across its own cells", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 1 });
    const session = await pool.acquire();
    const pid = session.pid;
    await session.execute("let total = 0");
    for (let i = 1; i <= 5; i++) await session.execute(`total += ${i}`);
    expect((await session.execute("total")).value).toBe(15);
    expect(session.pid).toBe(pid);
    session.release();
  });

  it("restores a checkpoint on acquire", async () => {
    pool = new SessionPool({ minIdle: 1, maxSessions: 2 });
    const source = await pool.acquire();
    await source.execute("const carried = { answer: 42 }");
    const checkpoint = await source.checkpoint();
    const target = await pool.acquire({ restore: checkpoint });
    expect(target.pid).not.toBe(source.pid);
    expect((await target.execute("carried.answer")).value).toBe(42);
    source.release();
    target.release();
  });

  it("runs 100 sessions at once and leaves no process after close", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 100 });
    const sessions = await Promise.all(Array.from({ length: 100 }, () => pool!.acquire()));
    const pids = sessions.map((session) => session.pid!);
    expect(new Set(pids).size).toBe(100);
    const results = await Promise.all(sessions.map((session, i) => session.execute(`${i} * 2`)));
    expect(results.map((r) => r.value)).toEqual(Array.from({ length: 100 }, (_, i) => i * 2));
    await pool.close();
    expect(pids.filter(processExists)).toEqual([]);
  }, 180_000);

  it("close waits for sessions still being retired: no process and no directory is left", async () => {
    // The workers' directories go under os.tmpdir(): a directory of this test's own.
    const previous = process.env.TMPDIR;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-pool-close-"));
    process.env.TMPDIR = tmp;
    try {
      pool = new SessionPool({ minIdle: 0, maxSessions: 4 });
      const sessions = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      const pids = sessions.map((session) => session.pid!);
      // Released and closed in the same turn, as a process that finishes and exits does.
      for (const session of sessions) session.release();
      await pool.close();
      expect(pids.filter(processExists)).toEqual([]);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("close while workers are still starting: no process and no directory is left", async () => {
    const previous = process.env.TMPDIR;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-pool-starting-"));
    process.env.TMPDIR = tmp;
    try {
      // Warm starts and a reservation in flight, closed in the same turn.
      pool = new SessionPool({ minIdle: 2, maxSessions: 4 });
      pool.reserve();
      await pool.close();
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      if (previous === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = previous;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("rejects acquire after close", async () => {
    pool = new SessionPool({ minIdle: 1 });
    await pool.close();
    await expect(pool.acquire()).rejects.toMatchObject({ code: "POOL_CLOSED" });
  });

  it("reserve starts a worker at once; acquire leases that one instead of starting another", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 4 });
    const reservation = pool.reserve();
    expect(pool.size).toBe(1);
    // A plain acquire meanwhile waits for a start in flight rather than adding one.
    const plain = pool.acquire();
    expect(pool.size).toBe(1);
    const first = await plain;
    // The reservation is still open: its worker is started again, and leased by it.
    const reserved = await reservation.acquire();
    expect(reserved.pid).not.toBe(first.pid);
    expect([first.executions, reserved.executions]).toEqual([0, 0]);
    expect(pool.leased).toBe(2);
    expect(pool.size).toBe(2);
    first.release();
    reserved.release();
  });

  it("a cancelled reservation's worker is retired beyond minIdle, also when cancelled during its start", async () => {
    pool = new SessionPool({ minIdle: 1, maxSessions: 4 });
    const pool1 = pool;
    // The pool has no event for its idle count: a bounded poll of the condition.
    const until = async (condition: () => boolean): Promise<boolean> => {
      const end = Date.now() + 30_000;
      while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return condition();
    };
    const reservation = pool.reserve();
    expect(await until(() => pool1.idle === 2)).toBe(true);
    const idlePids = await Promise.all([pool.acquire(), pool.acquire()]).then((sessions) => {
      const pids = sessions.map((session) => session.pid!);
      for (const session of sessions) session.release();
      return pids;
    });
    expect(await waitForPidsGone(idlePids)).toEqual([]);
    // minIdle 1 + one open reservation: two idle again; cancelling leaves one.
    expect(await until(() => pool1.idle === 2 && pool1.size === 2)).toBe(true);
    reservation.cancel();
    expect(pool.idle).toBe(1);
    expect(await until(() => pool1.size === 1)).toBe(true);
    // Cancelled while its worker starts: the worker is retired once it is up.
    const early = pool.reserve();
    expect(pool.size).toBe(2);
    early.cancel();
    expect(await until(() => pool1.size === 1 && pool1.idle === 1)).toBe(true);
    // An ended reservation is inert: cancel again does nothing, acquire is a plain one.
    early.cancel();
    const plain = await early.acquire();
    expect(plain.executions).toBe(0);
    plain.release();
  });
});
