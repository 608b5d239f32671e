// Worker groups across real processes: `capsule serve` on 127.0.0.1 port 0, `capsule
// worker` processes, orchestrators in remote mode whose session runs in group "cells".
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { type JsonLinesChild, killHard } from "../support/json-lines-child.ts";
import { waitForPidsGone } from "../support/processes.ts";
import { ancestry, Cluster, type RanOnReport } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

function ranOn(report: Record<string, unknown>): RanOnReport {
  return report.ranOn as RanOnReport;
}

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

  it("kill -9 of the worker running a cell: another worker restores the session and completes it", async () => {
    const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
    const orchestrator = cluster.orchestrator(["job-worker-kill", "4", "hang-2"]);
    const second = ranOn(await orchestrator.next("cell", (r) => r.index === 1));
    await cluster.sideFile("started-2");
    const running = [a, b].find((w) => w?.pid === second.hostPid);
    const other = [a, b].find((w) => w !== running);
    if (running === undefined || other === undefined) throw new Error("cell 1 ran on no worker");
    await cluster.kill(running);
    // Its session subprocess goes with it (no orphan keeps the namespace).
    expect(await waitForPidsGone([second.sessionPid])).toEqual([]);

    const done = await orchestrator.next("done");
    // The counter went on from the restored namespace: 3 after the cells 0 and 1.
    expect(done.values).toEqual([1, 2, 3, 4]);
    const where = cellsOf([orchestrator]);
    expect(where.map((w) => w.hostPid)).toEqual([running.pid, running.pid, other.pid, other.pid]);
    expect(where.map((w) => w.start)).toEqual(["fresh", "live", "restored", "live"]);
    // Recorded cells never ran again; the killed cell ran a second time, to completion.
    expect(cluster.runs()).toEqual({ "0": 1, "1": 1, "2": 2, "3": 1 });
    expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  });

  it("a worker gone between cells: the next cell goes to another worker at once and restores", async () => {
    const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
    const orchestrator = cluster.orchestrator(["job-gone-between", "4", "pause-2"]);
    await orchestrator.next("paused", (r) => r.index === 2);
    const holder = cellsOf([orchestrator])[1];
    const gone = [a, b].find((w) => w.pid === holder?.hostPid);
    const other = [a, b].find((w) => w !== gone);
    if (gone === undefined || other === undefined) throw new Error("cell 1 ran on no worker");
    await cluster.kill(gone);
    cluster.open("resume-2");
    const done = await orchestrator.next("done");
    expect(done.values).toEqual([1, 2, 3, 4]);
    const where = cellsOf([orchestrator]);
    expect(where.map((w) => w.hostPid)).toEqual([gone.pid, gone.pid, other.pid, other.pid]);
    expect(where.map((w) => w.start)).toEqual(["fresh", "live", "restored", "live"]);
    expect(cluster.runs()).toEqual({ "0": 1, "1": 1, "2": 1, "3": 1 });
  });

  it("kill -9 of the orchestrator: a new one finishes while the worker keeps the session", async () => {
    await Promise.all([cluster.worker(), cluster.worker()]);
    const lease = { CAPSULE_TEST_LEASE_MS: "1500" };
    const first = cluster.orchestrator(["job-orchestrator-kill", "4", "gate-2"], lease);
    await first.next("cell", (r) => r.index === 1);
    await cluster.sideFile("started-2");
    await killHard(first);
    // Cell 2 finishes on its worker with no orchestrator alive.
    cluster.open("gate-2");

    const second = cluster.orchestrator(["job-orchestrator-kill", "4"], lease);
    const done = await second.next("done");
    expect(done.values).toEqual([1, 2, 3, 4]);
    const where = cellsOf([first, second]);
    expect(new Set(where.map((w) => w.sessionPid)).size).toBe(1);
    expect(where.map((w) => w.start)).toEqual(["fresh", "live", "live", "live"]);
    expect(cluster.runs()).toEqual({ "0": 1, "1": 1, "2": 1, "3": 1 });
    expect((await second.exited).code, second.stderr()).toBe(0);
  });

  it("a group with no worker makes the cell wait; a worker that joins runs it", async () => {
    const orchestrator = cluster.orchestrator(["job-no-worker", "2"]);
    await orchestrator.next("running");
    // Bounded poll of the store (no event tells a third party a promise was created).
    let pending: { id: string; state: string }[] = [];
    for (let i = 0; i < 200 && pending.length === 0; i++) {
      pending = (await cluster.cellPromises()).filter((p) => p.state === "pending");
      if (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(pending).toHaveLength(1);
    expect(cluster.runs()).toEqual({});
    // What `capsule.show` (and `capsule show`) report meanwhile: the cell waits.
    const observer = await Capsule.open({ url: cluster.server.url, group: "observers" });
    try {
      // `capsule.list()`, the library form of `capsule ls`, lists the execution pending.
      const listing = await observer.list();
      expect(listing.executions).toContainEqual(
        expect.objectContaining({ id: "job-no-worker", state: "pending" }),
      );
      const view = await observer.show("job-no-worker");
      expect(view.state).toBe("pending");
      expect(view.cells.map((cell) => cell.state)).toEqual(["pending"]);
    } finally {
      await observer.close();
    }
    const worker = await cluster.worker();
    const done = await orchestrator.next("done");
    expect(done.values).toEqual([1, 2]);
    expect(cellsOf([orchestrator]).map((w) => w.hostPid)).toEqual([worker.pid, worker.pid]);
    expect(cluster.runs()).toEqual({ "0": 1, "1": 1 });
  });
});
