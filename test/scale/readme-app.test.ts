// The README's "Scale out" example, both ways: the same durable function with its
// session in the orchestrator's pool, and with `{ group: "cells" }` in a worker.
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

it("runs the same code in-process and in a worker group", async () => {
  const worker = await cluster.worker();
  const local = cluster.fixture("readme-app.ts", ["sum-local"]);
  const remote = cluster.fixture("readme-app.ts", ["sum-remote", "cells"]);
  const [here, there] = await Promise.all([local.next("done"), remote.next("done")]);
  expect(here).toMatchObject({ value: 6, ranOn: local.process.pid });
  expect(there).toMatchObject({ value: 6, ranOn: worker.pid });
  expect((await local.exited).code, local.stderr()).toBe(0);
  expect((await remote.exited).code, remote.stderr()).toBe(0);
});

it("records the same step records in a worker as in-process", async () => {
  await cluster.worker();
  const local = cluster.fixture("records.ts", ["records-local"]);
  const remote = cluster.fixture("records.ts", ["records-remote", "cells"]);
  const [here, there] = await Promise.all([local.next("done"), remote.next("done")]);
  const comparable = (done: Record<string, unknown>) =>
    (done.cells as Record<string, unknown>[]).map(({ id: _id, ...cell }) => cell);
  const remoteCells = comparable(there);
  // The cells both ran (the remote run asks input() before its last cell).
  expect([...remoteCells.slice(0, 2), ...remoteCells.slice(3)]).toEqual(comparable(here));
  expect(comparable(here).map((cell) => cell.error === undefined)).toEqual([true, false, true]);
  const result = (done: Record<string, unknown>) => done.result as Record<string, unknown>;
  expect(result(here)).toMatchObject({
    first: 42,
    last: "HELLO",
    failures: [{ code: "EXECUTION_ERROR", name: "ExecutionError" }],
  });
  expect(result(there)).toMatchObject({
    first: 42,
    last: "HELLO",
    failures: [{ code: "EXECUTION_ERROR", name: "ExecutionError" }],
    // The worker's question, answered by the orchestrator's onInput through the store.
    asked: "name? ada",
  });
  // The pass that gets a remote cell's record replays it; what this process already
  // showed live (groups/remote-watch.ts) is marked replayed, what it had not is not.
  expect(result(there).out).toEqual([expect.objectContaining({ data: "hello\n" })]);
  expect(result(here).out).toEqual([expect.objectContaining({ data: "hello\n" })]);
});
