import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const BATCH = 100;

// A full collection before reading heapUsed, so the printed numbers mean something.
v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

/** Opens the store, runs `count` one-step executions named `{prefix}-{i}`, closes it. */
// synchronous=NORMAL: these tests are about size and open time, and fsync per commit
// would only make them slower.
async function runExecutions(dir: string, prefix: string, count: number, gcAfter: boolean) {
  const network = EmbeddedNetwork.open({ dir, durability: "process" });
  const resonate = new Resonate({ network, pid: network.pid });
  const double = resonate.register("double", async (ctx: Context, n: number) => {
    return ctx.run(async () => n * 2);
  });
  try {
    const started = performance.now();
    for (let first = 0; first < count; first += BATCH) {
      const handles = await Promise.all(
        Array.from({ length: Math.min(BATCH, count - first) }, (_, k) =>
          double.run(`${prefix}-${first + k}`, first + k),
        ),
      );
      const results = await Promise.all(handles.map((handle) => handle.result()));
      expect(results[0]).toBe(first * 2);
    }
    const elapsed = performance.now() - started;
    // One more event-loop turn delivers whatever the last requests produced.
    await new Promise((resolve) => setImmediate(resolve));
    const before = network.stats();
    const collected = gcAfter ? network.gc({ olderThanMs: 0 }) : undefined;
    return { elapsed, before, collected, after: network.stats() };
  } finally {
    await resonate.stop();
    await network.close();
  }
}

function timedOpen(dir: string) {
  const started = performance.now();
  const network = EmbeddedNetwork.open({ dir });
  return { network, openMs: performance.now() - started };
}

describe("embedded store: bounded", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-bounded-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reopens correctly and quickly after 10,000 completed executions", {
    timeout: 300_000,
  }, async () => {
    const run = await runExecutions(dir, "job", 10_000, false);
    expect(run.before).toMatchObject({
      promises: 20_000,
      tasks: 10_000,
      schedules: 0,
      outgoing: 0,
    });

    const { network, openMs } = timedOpen(dir);
    try {
      console.log(
        `10,000 executions: ${run.elapsed.toFixed(0)} ms (${((run.elapsed / 10_000) * 1000).toFixed(0)} µs each); reopen with 20,000 promises: ${openMs.toFixed(0)} ms`,
      );
      expect(network.stats()).toEqual(run.before);
      const last = await network.send({
        kind: "promise.get",
        head: head(),
        data: { id: "job-9999" },
      });
      expect(payload(last).promise.state).toBe("resolved");
      expect(network.recovery).toEqual({ releasedTasks: [], redispatchedTasks: [] });
    } finally {
      await network.close();
    }
  });

  it("gc keeps memory, the file and open time flat across rounds of executions", {
    timeout: 300_000,
  }, async () => {
    const rounds: { heapMb: number; openMs: number; fileKb: number }[] = [];
    for (let round = 0; round < 5; round++) {
      const run = await runExecutions(dir, `round${round}`, 2_000, true);
      expect(run.collected).toEqual({ roots: 2_000, promises: 4_000 });
      expect(run.after).toEqual({ promises: 0, tasks: 0, schedules: 0, outgoing: 0 });
      const { network, openMs } = timedOpen(dir);
      expect(network.stats().promises).toBe(0);
      await network.close();
      collectGarbage();
      rounds.push({
        heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
        openMs: Math.round(openMs),
        fileKb: Math.round(fs.statSync(path.join(dir, "store.db")).size / 1024),
      });
    }
    console.table(rounds);
    // Freed pages are reused: the file does not grow with the number of executions.
    const [first, last] = [rounds[0], rounds.at(-1)];
    expect(last?.fileKb).toBeLessThanOrEqual((first?.fileKb ?? 0) * 1.1);
    // Generous: 10,000 executions kept in memory would add well over this.
    expect(last?.heapMb).toBeLessThanOrEqual((first?.heapMb ?? 0) + 16);
  });

  it("gc keeps executions that are younger than the cut-off or still running", async () => {
    let clock = Date.now();
    const network = EmbeddedNetwork.open({ dir, now: () => clock });
    const resonate = new Resonate({ network, pid: network.pid });
    const hold = Promise.withResolvers<void>();
    const job = resonate.register("job", async (ctx: Context, wait: boolean) => {
      return ctx.run(async () => {
        if (wait) await hold.promise;
        return "ok";
      });
    });
    try {
      await (await job.run("old", false)).result();
      clock += 60_000;
      await (await job.run("young", false)).result();
      const running = await job.run("running", true);
      clock += 1_000;

      expect(network.gc({ olderThanMs: 30_000 })).toEqual({ roots: 1, promises: 2 });
      expect(network.gc({ olderThanMs: 0 })).toEqual({ roots: 1, promises: 2 });
      hold.resolve();
      expect(await running.result()).toBe("ok");
      const remaining = await network.send({
        kind: "promise.get",
        head: head(),
        data: { id: "old" },
      });
      expect(remaining.head.status).toBe(404);
    } finally {
      await resonate.stop();
      await network.close();
    }
  });
});
