// A restart of `capsule serve` while a worker runs a cell: the worker and the
// orchestrator reconnect, the worker keeps its task (serve keeps its clients' leases),
// and no cell runs twice.
import { afterEach, beforeEach, expect, it } from "vitest";
import { Cluster } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

it("a serve restart with live workers runs no cell twice", async () => {
  await Promise.all([cluster.worker(10_000), cluster.worker(10_000)]);
  const orchestrator = cluster.orchestrator(["job-serve-restart", "4", "gate-2"]);
  await cluster.sideFile("started-2");
  await cluster.restartServer();
  cluster.open("gate-2");
  const done = await orchestrator.next("done");
  expect(done.values).toEqual([1, 2, 3, 4]);
  expect(cluster.runs()).toEqual({ "0": 1, "1": 1, "2": 1, "3": 1 });
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
});
