// Live output of a remote cell: chunks reach the orchestrator's onOutput through the
// store's output log while the cell still runs in a `capsule worker`, each shown
// unmarked once, and the record replays them marked. Real processes: `capsule serve`
// on port 0, workers through the CLI, an orchestrator fixture (fixtures/live-output.ts).
import { afterEach, beforeEach, expect, it } from "vitest";
import { Capsule, type TreeNode } from "../../durable/index.ts";
import { searchPromises } from "../../durable/promise-query.ts";
import { createRemoteNetwork } from "../../durable/remote.ts";
import { killHard, type Report } from "../support/json-lines-child.ts";
import { Cluster } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

const unmarked = (reports: Report[]) =>
  reports.filter((r) => r.event === "chunk" && r.replayed !== true).map((r) => r.data);

async function outputLogIds(url: string): Promise<string[]> {
  const { network } = createRemoteNetwork({ url, pid: "live-output-reader" });
  try {
    const found = await searchPromises(network.send, { "capsule:kind": "output" });
    return found.map((p) => p.id);
  } finally {
    await network.stop();
  }
}

it("streams a remote cell's output to onOutput while it runs, each chunk unmarked once", async () => {
  await cluster.worker();
  const orchestrator = cluster.fixture("live-output.ts", ["live-gate", cluster.side, "gate"]);
  // The cell waits for gate-1, which only this test creates: "first" arriving now is live.
  const first = await orchestrator.next("chunk", (r) => r.data === "first\n");
  expect(first.replayed).toBeUndefined();
  cluster.open("gate-1");
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done).toMatchObject({ value: 2, last: 11 });
  const reports = orchestrator.reports();
  // Shown once each, in order, across all passes: the pass that got the record replays
  // marked what was shown live, and a later pass replays it all marked.
  expect(unmarked(reports)).toEqual(["first\n", "second\n"]);
  const passes = reports.filter((r) => r.event === "chunk").map((r) => r.pass as number);
  const lastPass = reports.filter((r) => r.event === "chunk" && r.pass === Math.max(...passes));
  expect(lastPass.map((r) => [r.data, r.replayed])).toEqual([
    ["first\n", true],
    ["second\n", true],
  ]);
  // Each pass that saw the record saw it whole, in order.
  for (const pass of new Set(passes)) {
    const seen = reports.filter((r) => r.event === "chunk" && r.pass === pass);
    if (seen.some((r) => r.replayed === true)) {
      expect(seen.slice(-2).map((r) => r.data)).toEqual(["first\n", "second\n"]);
    }
  }
  const output = done.output as { data: string; replayed?: boolean }[];
  expect(output.map((chunk) => [chunk.data, chunk.replayed])).toEqual([
    ["first\n", true],
    ["second\n", true],
  ]);
  expect(cluster.runs()).toEqual({ "1": 1 });
  // Only the watched cell wrote a log: cells 0 and 2 ran without onOutput.
  const step1 = reports.find((r) => r.event === "step" && r.index === 1)?.id as string;
  const logIds = await outputLogIds(cluster.server.url);
  expect(logIds.length).toBeGreaterThanOrEqual(1);
  for (const id of logIds) expect(id.startsWith(`${step1}.out.`)).toBe(true);
  // The log is Capsule's bookkeeping, not a call: `capsule tree` does not draw it.
  const observer = await Capsule.open({ url: cluster.server.url, group: "observers" });
  try {
    const ids: string[] = [];
    const walk = (node: TreeNode): void => {
      ids.push(node.id);
      node.children.forEach(walk);
    };
    walk(await observer.tree("live-gate"));
    expect(ids).toContain(step1);
    expect(ids.filter((id) => id.includes(".out."))).toEqual([]);
  } finally {
    await observer.close();
  }
});

it("kill -9 of the worker mid-cell: the re-run's output streams too, the record replays only its own", async () => {
  const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
  const orchestrator = cluster.fixture("live-output.ts", ["live-hang", cluster.side, "hang"]);
  await orchestrator.next("chunk", (r) => r.data === "first\n");
  await cluster.sideFile("started-1");
  // Cell 1 runs where cell 0 ran: that worker holds the session live (affinity).
  const cell0 = await orchestrator.next("cell", (r) => r.index === 0);
  const holder = [a, b].find((w) => w.pid === cell0.hostPid);
  if (holder === undefined) throw new Error("cell 0 ran on no worker");
  await cluster.kill(holder);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done).toMatchObject({ value: 2, last: 11 });
  const reports = orchestrator.reports();
  // The killed attempt's "first", then the re-run's own output, each shown once.
  // (The re-run prints both lines in one turn: they may arrive as one chunk.)
  expect(unmarked(reports).join("")).toBe("first\nfirst\nsecond\n");
  const output = done.output as { data: string }[];
  expect(output.map((chunk) => chunk.data).join("")).toBe("first\nsecond\n");
  expect(cluster.runs()).toEqual({ "1": 2 });
});

it("kill -9 of the orchestrator mid-cell: the cell finishes unwatched, the new one replays it marked", async () => {
  await cluster.worker();
  const lease = { CAPSULE_TEST_LEASE_MS: "1500" };
  const first = cluster.fixture("live-output.ts", ["live-orch", cluster.side, "gate"], lease);
  await first.next("chunk", (r) => r.data === "first\n");
  await killHard(first);
  // The execution is suspended on the cell's rpc: no pass runs until its record exists,
  // so no process watches the rest of the cell; it comes from the record.
  cluster.open("gate-1");
  const second = cluster.fixture("live-output.ts", ["live-orch", cluster.side, "gate"], lease);
  const done = await second.next("done");
  expect((await second.exited).code, second.stderr()).toBe(0);
  expect(done).toMatchObject({ value: 2, last: 11 });
  const chunks = second.reports().filter((r) => r.event === "chunk");
  expect(chunks.length).toBeGreaterThan(0);
  // Recorded before this process's pass ran: replayed, never shown as new.
  expect(unmarked(second.reports())).toEqual([]);
  expect(cluster.runs()).toEqual({ "1": 1 });
});
