// Worker groups across real processes: `capsule serve` on 127.0.0.1 port 0, `capsule
// worker` processes, orchestrators in remote mode whose session runs in group "cells".
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JsonLinesChild } from "../support/json-lines-child.ts";
import { ancestry, Cluster, type RanOnReport } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

/** Where each cell ran, by index (each pass of the function reports the recorded ones again). */
function cellsOf(orchestrators: JsonLinesChild[]): RanOnReport[] {
  const byIndex = new Map<number, RanOnReport>();
  for (const orchestrator of orchestrators) {
    for (const report of orchestrator.reports()) {
      if (report.event === "cell") byIndex.set(report.index as number, report.ranOn as RanOnReport);
    }
  }
  return [...byIndex.entries()].sort(([x], [y]) => x - y).map(([, where]) => where);
}

describe("capsule worker groups", () => {
  it("runs the cells in a worker's session, consecutive cells on one worker without a restore", async () => {
    const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
    const orchestrator = cluster.orchestrator(["job-affinity", "4"]);
    const done = await orchestrator.next("done");
    expect(done.values).toEqual([1, 2, 3, 4]);
    const where = cellsOf([orchestrator]);
    const workerPids = [a?.pid, b?.pid];
    // Every cell ran in a session subprocess of a worker, never of the orchestrator.
    for (const cell of where) {
      const chain = ancestry(cell.sessionPid);
      expect(chain).toContain(cell.hostPid);
      expect(chain).not.toContain(orchestrator.process.pid);
      expect(workerPids).toContain(cell.hostPid);
    }
    // Affinity: one worker, one live session, no restore after the first cell.
    expect(new Set(where.map((w) => w.hostPid)).size).toBe(1);
    expect(new Set(where.map((w) => w.sessionPid)).size).toBe(1);
    expect(where.map((w) => w.start)).toEqual(["fresh", "live", "live", "live"]);
    expect(cluster.runs()).toEqual({ "0": 1, "1": 1, "2": 1, "3": 1 });
    expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  });
});
