import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { SessionPool } from "../../src/session/pool.ts";
import type { Session } from "../../src/session/session.ts";
import { processExists } from "./helpers.ts";

let pool: SessionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("SessionPool", () => {
  it("keeps warm sessions ready and hands out a clean namespace after release", async () => {
    pool = new SessionPool({ minIdle: 2, maxSessions: 4 });
    const first = await pool.acquire();
    expect(first.state).toBe("READY");
    await first.execute("const secret = 'from the first user'");
    const pid = first.pid;
    first.release();
    // Released sessions are reset and reused; acquire until we get it back.
    const again: Session[] = [];
    let reused: Session | undefined;
    while (reused === undefined) {
      const next = await pool.acquire();
      again.push(next);
      if (next.pid === pid) reused = next;
    }
    expect((await reused.execute("typeof secret")).value).toBe("undefined");
    for (const session of again) session.release();
  });

  it("bounds the number of sessions: acquire waits for a release, and times out", async () => {
    pool = new SessionPool({ minIdle: 0, maxSessions: 1, acquireTimeoutMs: 300 });
    const only = await pool.acquire();
    await expect(pool.acquire()).rejects.toMatchObject({ code: "POOL_ACQUIRE_TIMEOUT" });
    const waiting = pool.acquire();
    only.release();
    const next = await waiting;
    expect(next.pid).toBe(only.pid);
    expect(pool.size).toBe(1);
    next.release();
  });

  it("replaces a session whose worker keeps crashing, and recycles one after N executions", async () => {
    pool = new SessionPool({
      minIdle: 0,
      maxSessions: 2,
      maxRespawns: 0,
      recycleAfterExecutions: 2,
    });
    const doomed = await pool.acquire();
    const terminated = once(doomed, "terminated");
    await expect(doomed.execute("process.exit(1)")).rejects.toMatchObject({
      code: "WORKER_CRASHED",
    });
    await terminated;
    expect(doomed.state).toBe("TERMINATED");
    expect(pool.size).toBe(0);

    const used = await pool.acquire();
    await used.execute("1");
    await used.execute("2");
    const usedPid = used.pid!;
    used.release();
    const fresh = await pool.acquire();
    expect(fresh.pid).not.toBe(usedPid);
    expect(fresh.executions).toBe(0);
    fresh.release();
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

  it("rejects acquire after close", async () => {
    pool = new SessionPool({ minIdle: 1 });
    await pool.close();
    await expect(pool.acquire()).rejects.toMatchObject({ code: "POOL_CLOSED" });
  });
});
