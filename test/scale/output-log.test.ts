// The output log a remote cell streams through (durable/groups/output-log.ts) and the
// orchestrator's watch of it (remote-watch.ts), over real sockets to `capsule serve`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, expect, it } from "vitest";
import type { StepPromises } from "../../durable/capability-steps.ts";
import {
  batchOf,
  OutputLogWriter,
  outputBatchId,
  STREAM_BATCH_BYTES,
} from "../../durable/groups/output-log.ts";
import { RemoteCellWatch } from "../../durable/groups/remote-watch.ts";
import { getPromise } from "../../durable/promise-query.ts";
import { createRemoteNetwork } from "../../durable/remote.ts";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import type { OutputChunk } from "../../src/session/index.ts";

let root: string;
let server: RunningServer;
let resonate: Resonate;
let store: StepPromises;

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-output-log-"));
  server = await serve({ dir: path.join(root, "served"), port: 0 });
  const remote = createRemoteNetwork({ url: server.url, group: "log-test" });
  resonate = new Resonate({ network: remote.network, pid: remote.pid, group: "log-test" });
  store = { send: remote.network.send, promises: resonate.promises };
});

afterEach(async () => {
  await resonate.stop();
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const chunk = (data: string): OutputChunk => ({ stream: "stdout", data });

async function batches(stepId: string): Promise<{ attempt: string; chunks: OutputChunk[] }[]> {
  const found = [];
  for (let n = 0; ; n++) {
    const record = await getPromise(store.send, outputBatchId(stepId, n));
    if (record === undefined) return found;
    expect(record.state).toBe("resolved");
    const batch = batchOf(record);
    if (batch === undefined) throw new Error(`batch ${n} holds no batch`);
    found.push(batch);
  }
}

it("writes bounded batches, and a second attempt appends after the first", async () => {
  const step = { stepId: "exec-1.1", originId: "exec-1" };
  const big = "x".repeat(30 * 1024);
  const first = new OutputLogWriter(store, step);
  for (const data of [big, big, big, "tail\n"]) first.push(chunk(data));
  await first.close();
  const second = new OutputLogWriter(store, step);
  second.push(chunk("again\n"));
  await second.close();

  const log = await batches(step.stepId);
  for (const batch of log) {
    expect(batch.chunks.reduce((n, c) => n + c.data.length, 0)).toBeLessThanOrEqual(
      STREAM_BATCH_BYTES,
    );
  }
  expect(log.flatMap((b) => b.chunks.map((c) => c.data))).toEqual([
    big,
    big,
    big,
    "tail\n",
    "again\n",
  ]);
  expect(log.map((b) => b.attempt)).toEqual([first.attempt, first.attempt, second.attempt]);
});

it("the watch delivers each attempt's chunks in order and counts the recorded attempt's", async () => {
  const step = { stepId: "exec-2.1", originId: "exec-2" };
  const seen: string[] = [];
  let delivered: () => void = () => {};
  const allSeen = new Promise<void>((resolve) => {
    delivered = resolve;
  });
  const watch = new RemoteCellWatch(store.send, {
    id: (stepId, k) => `${stepId}.input-${k}`,
    answer: async () => {},
  });
  const issuingPass = {};
  watch.watch(
    step.stepId,
    {
      onOutput: (c) => {
        seen.push(c.data);
        if (seen.length === 3) delivered();
      },
    },
    issuingPass,
  );
  const crashed = new OutputLogWriter(store, step);
  crashed.push(chunk("a1\n"));
  await crashed.close();
  const rerun = new OutputLogWriter(store, step);
  rerun.push(chunk("a2\n"));
  await rerun.close();
  rerun.push(chunk("b2\n"));
  await rerun.close();
  await allSeen;
  expect(seen).toEqual(["a1\n", "a2\n", "b2\n"]);
  // The pass that gets the record: 2 of the re-run's chunks were shown live here.
  expect(watch.finish(step.stepId, rerun.attempt, {})).toBe(2);
  // A watch started and finished by one pass is a replay: the record speaks alone.
  watch.watch("exec-3.1", { onOutput: () => {} }, issuingPass);
  expect(watch.finish("exec-3.1", undefined, issuingPass)).toBeUndefined();
  watch.close();
});
