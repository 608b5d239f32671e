// kill -9 of the process running a durable function at each kind of point, then a
// restart: the function completes with the right value, every recorded cell ran exactly
// once, the namespace is back, and no session worker outlives the killed process.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useStoreDirs } from "../support/store-dirs.ts";
import {
  type CapsuleChild,
  killHard,
  startCapsuleChild,
  waitForPidsGone,
} from "./capsule-process.ts";

const dirs = useStoreDirs("capsule-crash-");

function cellRuns(): Record<string, number> {
  const counts: Record<string, number> = {};
  const text = fs.readFileSync(path.join(dirs.side, "cells.log"), "utf8");
  for (const line of text.split("\n").filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}

function workerPids(child: CapsuleChild): number[] {
  return [
    ...new Set(
      child
        .reports()
        .filter((r) => r.event === "cell" && typeof r.workerPid === "number")
        .map((r) => r.workerPid as number),
    ),
  ];
}

async function crashAt(stop: string, reached: string): Promise<CapsuleChild> {
  const crashed = startCapsuleChild(["crash", dirs.store, dirs.side, stop]);
  await crashed.next(reached);
  const pids = workerPids(crashed);
  await killHard(crashed);
  expect(pids.length).toBeGreaterThan(0);
  expect(await waitForPidsGone(pids)).toEqual([]);
  return crashed;
}

async function resume(
  promiseToResolve?: string,
): Promise<{ result: unknown; child: CapsuleChild }> {
  const extra = promiseToResolve === undefined ? [] : [promiseToResolve];
  const resumed = startCapsuleChild(["resume", dirs.store, dirs.side, ...extra]);
  const done = await resumed.next("done");
  const exit = await resumed.exited;
  expect(exit.code, resumed.stderr()).toBe(0);
  expect(await waitForPidsGone(workerPids(resumed))).toEqual([]);
  return { result: done.result, child: resumed };
}

// base 20: a = 20, b = 40; the result is `${a + b}-${word resolved into ctx.promise()}`.
const EXPECTED = "60-ok";

describe("Capsule survives kill -9 of the orchestrating process", () => {
  it("between cells: recorded cell 1 is not run again", async () => {
    await crashAt("between", "cell");
    const { result, child } = await resume();
    expect(result).toBe(EXPECTED);
    expect(cellRuns()).toEqual({ "1": 1, "2": 1, "3": 1 });
    expect(child.reports().find((r) => r.event === "cell" && r.n === 1)?.replayed).toBe(true);
  });

  it("inside a cell: the unrecorded cell runs again, recorded ones do not", async () => {
    await crashAt("in-cell", "output");
    const { result, child } = await resume();
    expect(result).toBe(EXPECTED);
    // Cell 2 was killed before its result was recorded: it ran once per process.
    expect(cellRuns()).toEqual({ "1": 1, "2": 2, "3": 1 });
    const output = child.reports().filter((r) => r.event === "output");
    // The rerun streams its output live; later passes replay the recorded output.
    expect(output[0]).toMatchObject({ data: "b=40\n", replayed: false });
  });

  it("during ctx.sleep: the sleep ends, the namespace is restored", async () => {
    await crashAt("sleep", "sleeping");
    const { result, child } = await resume();
    expect(result).toBe(EXPECTED);
    expect(cellRuns()).toEqual({ "1": 1, "2": 1, "3": 1 });
    // Cell 2 ran in the killed process; its recorded output is replayed, marked so.
    const output = child.reports().filter((r) => r.event === "output");
    expect(output.length).toBeGreaterThan(0);
    expect(output.every((r) => r.data === "b=40\n" && r.replayed === true)).toBe(true);
  });

  it("while waiting on ctx.promise(): resolving it after the restart completes the run", async () => {
    const crashed = await crashAt("promise", "waiting");
    const waiting = await crashed.next("waiting");
    expect(typeof waiting.id).toBe("string");
    const { result } = await resume(String(waiting.id));
    expect(result).toBe(EXPECTED);
    expect(cellRuns()).toEqual({ "1": 1, "2": 1, "3": 1 });
  });
});
