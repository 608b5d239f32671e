// A worker's live sessions stay within its pool: more sessions than the pool holds are
// served by releasing the least recently used idle one, not by waiting for a pool that
// never frees. Library forms of both sides, over real sockets to `capsule serve`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { Capsule, CapsuleWorker } from "../../durable/index.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("serves more sessions than its pool holds, evicting the least recently used", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-worker-bounds-"));
  cleanups.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const server: RunningServer = await serve({ dir: path.join(root, "served"), port: 0 });
  cleanups.push(() => server.close());
  const worker = CapsuleWorker.start({
    url: server.url,
    concurrency: 1,
    pool: { maxSessions: 2, minIdle: 0 },
  });
  cleanups.push(() => worker.stop());
  const capsule = await Capsule.open({ url: server.url, group: "orchestrators" });
  cleanups.push(() => capsule.close());
  const live: number[] = [];
  const job = capsule.register("bounded", async (ctx, base: number) => {
    const s = ctx.session("s", { group: "cells" });
    await s.execute(`let v = ${base}`);
    const result = await s.execute("v * 2");
    live.push(worker.liveSessions);
    return result.value;
  });
  const values = [];
  for (let i = 0; i < 4; i++) values.push(await (await job.run(`bounded-${i}`, i)).result());
  expect(values).toEqual([0, 2, 4, 6]);
  // Pool of 2: one live session at most (one spare for a session being retired).
  expect(Math.max(...live)).toBe(1);
});
