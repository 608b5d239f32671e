// A resumed pass has its worker started while recorded cells replay (SessionSlot.prepare,
// SessionPool.reserve): the first unrecorded cell finds it started, and a pass whose
// cells are all recorded gives it back, leaving no worker behind.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { waitForPidsGone } from "../support/processes.ts";

let root: string;
let sideDir: string;
let capsule: Capsule;

function runs(name: string): number {
  const file = path.join(sideDir, name);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").length : 0;
}
function counted(name: string, body: string): string {
  const file = JSON.stringify(path.join(sideDir, name));
  return `require("node:fs").appendFileSync(${file}, "x"); ${body}`;
}

/**
 * The pool has no event for its size (workers are not this process's children once
 * handed to the pool): a bounded poll of an external condition, not a sleep.
 */
async function until(condition: () => boolean, deadlineMs = 30_000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-reserve-"));
  sideDir = path.join(root, "side");
  fs.mkdirSync(sideDir);
  capsule = await Capsule.open({
    dir: path.join(root, "capsule"),
    pool: { minIdle: 0, permissions: { fsRead: [sideDir], fsWrite: [sideDir] } },
  });
});

afterEach(async () => {
  await capsule.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** Waits for the function's latent promise to exist, once the first pass's worker is gone. */
async function resolveAfterFirstPass(ids: string[], pids: number[]): Promise<void> {
  expect(await until(() => ids.length > 0)).toBe(true);
  // The first pass suspended: its worker went back (retired) before the promise resolves.
  expect(await waitForPidsGone(pids)).toEqual([]);
  expect(await until(() => capsule.pool.size === 0)).toBe(true);
  const data = Buffer.from(JSON.stringify("go")).toString("base64");
  await capsule.promises.resolve(ids[0] ?? "", { data });
}

describe("a resumed pass's worker", () => {
  it("is started during the replay and runs the first unrecorded cell", async () => {
    const ids: string[] = [];
    const pids: number[] = [];
    let beforeCell2: { size: number; leased: number; pid: number | undefined } | undefined;
    const fn = capsule.register("resume-runs", async (ctx) => {
      const s = ctx.session("main");
      const one = await s.execute(counted("one", "const kept = 20; 1"));
      if (s.workerPid !== undefined) pids.push(s.workerPid);
      const signal = ctx.promise<string>();
      await ctx.run(async () => {
        ids.push(signal.id);
      });
      const word = await signal;
      // Second pass: cell 1 was replayed from its record, nothing is leased yet, and the
      // worker for cell 2 is already started (or starting) in the pool.
      beforeCell2 = { size: capsule.pool.size, leased: capsule.pool.leased, pid: s.workerPid };
      const two = await s.execute(counted("two", "kept + 1"));
      return `${one.value}-${two.value}-${word}`;
    });
    const handle = await fn.run("resume-runs-1");
    await resolveAfterFirstPass(ids, pids);
    expect(await handle.result()).toBe("1-21-go");
    expect(beforeCell2).toEqual({ size: 1, leased: 0, pid: undefined });
    expect([runs("one"), runs("two")]).toEqual([1, 1]);
    expect(await until(() => capsule.pool.size === 0)).toBe(true);
  });

  it("is given back when every cell of the pass was recorded", async () => {
    const ids: string[] = [];
    const pids: number[] = [];
    let afterReplay: { size: number; leased: number } | undefined;
    const fn = capsule.register("resume-replays", async (ctx) => {
      const s = ctx.session("main");
      const one = await s.execute(counted("one", "1"));
      if (s.workerPid !== undefined) pids.push(s.workerPid);
      const signal = ctx.promise<string>();
      await ctx.run(async () => {
        ids.push(signal.id);
      });
      const word = await signal;
      afterReplay = { size: capsule.pool.size, leased: capsule.pool.leased };
      return `${one.value}-${word}`;
    });
    const handle = await fn.run("resume-replays-1");
    await resolveAfterFirstPass(ids, pids);
    expect(await handle.result()).toBe("1-go");
    // A worker was started for the pass (reserved, never leased) ...
    expect(afterReplay).toEqual({ size: 1, leased: 0 });
    expect(runs("one")).toBe(1);
    // ... and retired once the pass ended without needing it: none is kept.
    expect(await until(() => capsule.pool.size === 0)).toBe(true);
    expect(capsule.pool.idle).toBe(0);
  });

  it("of recovered work is started before the function is registered, and runs its next cell", async () => {
    const ids: string[] = [];
    const pids: number[] = [];
    const body =
      (record: (at: { size: number; leased: number }) => void) =>
      async (ctx: Parameters<Parameters<Capsule["register"]>[1]>[0]) => {
        const s = ctx.session("main");
        const one = await s.execute(counted("one", "const kept = 1; kept"));
        if (s.workerPid !== undefined) pids.push(s.workerPid);
        const signal = ctx.promise<string>();
        await ctx.run(async () => {
          ids.push(signal.id);
        });
        const word = await signal;
        record({ size: capsule.pool.size, leased: capsule.pool.leased });
        const two = await s.execute(counted("two", "kept + 1"));
        return `${one.value}-${two.value}-${word}`;
      };
    await capsule
      .register(
        "recovered",
        body(() => {}),
      )
      .run("recovered-1");
    expect(await until(() => ids.length > 0)).toBe(true);
    expect(await waitForPidsGone(pids)).toEqual([]);
    await capsule.close();
    // A new process: the execution's task comes back once its promise is resolved.
    capsule = await Capsule.open({
      dir: path.join(root, "capsule"),
      pool: { minIdle: 0, permissions: { fsRead: [sideDir], fsWrite: [sideDir] } },
    });
    expect(capsule.pool.size).toBe(0);
    const data = Buffer.from(JSON.stringify("go")).toString("base64");
    await capsule.promises.resolve(ids[0] ?? "", { data });
    // Held at the gate (nothing registered yet), and its worker already starting.
    expect(await until(() => capsule.pool.size === 1)).toBe(true);
    let beforeCell2: { size: number; leased: number } | undefined;
    capsule.register(
      "recovered",
      body((at) => {
        beforeCell2 = at;
      }),
    );
    const handle = await capsule.get<string>("recovered-1");
    expect(await handle.result()).toBe("1-2-go");
    // The same one worker, not leased until cell 2 (cell 1 was replayed from its record).
    expect(beforeCell2).toEqual({ size: 1, leased: 0 });
    expect([runs("one"), runs("two")]).toEqual([1, 1]);
    expect(await until(() => capsule.pool.size === 0)).toBe(true);
  });
});
