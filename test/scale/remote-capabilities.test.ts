// Capabilities in a remote cell: the host function is the orchestrator's, each call a
// durable record `<stepId>.cap-<k>` the worker creates and the orchestrator settles.
// Real processes: `capsule serve` on port 0, workers through the CLI, an orchestrator.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { JsonLinesChild } from "../support/json-lines-child.ts";
import { Cluster, type WorkerProcess } from "./cluster.ts";

let cluster: Cluster;

beforeEach(async () => {
  cluster = new Cluster();
  await cluster.start();
});

afterEach(async () => {
  await cluster.close();
});

/** The host functions the orchestrator ran, in order, from the O_APPEND side file. */
function calls(): string[] {
  const file = path.join(cluster.side, "calls.log");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/** Kills the worker the session lives on (cell 0 ran there, and cell 1 went there). */
async function killHolder(orchestrator: JsonLinesChild, workers: WorkerProcess[]) {
  const cell0 = await orchestrator.next("cell", (r) => r.index === 0);
  const holder = workers.find((w) => w.pid === cell0.hostPid);
  if (holder === undefined) throw new Error("cell 0 ran on no worker");
  await cluster.kill(holder);
  return holder;
}

it("the orchestrator's function answers a remote cell's call; a re-run after kill -9 gets the record", async () => {
  const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
  const orchestrator = cluster.fixture("remote-caps.ts", ["caps-call", cluster.side, "call"]);
  // The cell hangs after its call returned, in its first run: kill the worker running it.
  await cluster.sideFile("started-1");
  expect(calls()).toEqual(["bump"]);
  const holder = await killHolder(orchestrator, [a, b]);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done.value).toBe("hi ada");
  expect((done.ranOn as { hostPid: number }).hostPid).not.toBe(holder.pid);
  // The cell ran twice; the host function once: the re-run met the recorded result.
  expect(cluster.runs()).toEqual({ c: 2 });
  expect(calls()).toEqual(["bump"]);
  expect(orchestrator.reports().filter((r) => r.event === "called")).toHaveLength(1);
});

it("a re-run that calls another capability at a recorded index is refused as diverged", async () => {
  const [a, b] = await Promise.all([cluster.worker(), cluster.worker()]);
  const orchestrator = cluster.fixture("remote-caps.ts", ["caps-diverge", cluster.side, "diverge"]);
  await cluster.sideFile("started-1");
  const holder = await killHolder(orchestrator, [a, b]);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done.value).toBe("CAPABILITY_DIVERGED");
  expect((done.ranOn as { hostPid: number }).hostPid).not.toBe(holder.pid);
  // other() was never called: the divergence is found before the call.
  expect(calls()).toEqual(["bump"]);
});

it("a host function's error reaches the remote cell with its code; granted names are protected", async () => {
  await cluster.worker();
  const orchestrator = cluster.fixture("remote-caps.ts", ["caps-fail", cluster.side, "fail"]);
  const done = await orchestrator.next("done");
  expect((await orchestrator.exited).code, orchestrator.stderr()).toBe(0);
  expect(done.value).toBe("QUOTA: no quota left");
  // Refused before it ran (the name was known to the worker when it prepared the cell).
  // The record rebuilds it with the code EXECUTION_SYNTAX_ERROR (durable/step-record.ts
  // keeps only errorName), so the message is what says why.
  expect(done.assigned).toMatch(/'bump' is provided by Capsule and cannot be declared/);
  expect(calls()).toEqual(["bump"]);
});
