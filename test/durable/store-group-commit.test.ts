// Group commit: requests applied in the same event-loop turn are persisted by one
// transaction, and none of them is answered before that transaction committed. A burst
// of concurrent durable steps therefore costs far fewer commits (fsyncs, with
// durability "machine") than steps; a failed commit refuses its whole group and loses
// nothing acknowledged before it.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import type { StoreError } from "../../src/errors.ts";
import { head, payload } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const EXECUTIONS = 100;
const STEPS = 10;

function createPromise(id: string, bytes = 16) {
  return {
    kind: "promise.create" as const,
    head: head(),
    data: { id, timeoutAt: Date.now() + 60_000, param: { data: "x".repeat(bytes) }, tags: {} },
  };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-group-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("embedded store: group commit", () => {
  it(`${EXECUTIONS} concurrent executions x ${STEPS} steps share commits, and all of it is recorded`, async () => {
    const network = EmbeddedNetwork.open({ dir, durability: "machine" });
    const resonate = new Resonate({ network, pid: network.pid });
    const job = resonate.register("job", async (ctx: Context, n: number) => {
      let total = 0;
      for (let i = 0; i < STEPS; i++) total += await ctx.run(async () => n + i);
      return total;
    });
    const expected = (n: number) => STEPS * n + (STEPS * (STEPS - 1)) / 2;
    try {
      const before = network.writeCounters().commits;
      const handles = await Promise.all(
        Array.from({ length: EXECUTIONS }, (_, n) => job.run(`job-${n}`, n)),
      );
      const results = await Promise.all(handles.map((handle) => handle.result()));
      expect(results).toEqual(Array.from({ length: EXECUTIONS }, (_, n) => expected(n)));
      const commits = network.writeCounters().commits - before;
      // One commit per step would be 1,000 (and each step makes two requests); grouping
      // by event-loop turn makes it a small fraction.
      expect(commits).toBeGreaterThan(0);
      expect(commits).toBeLessThan((EXECUTIONS * STEPS) / 5);
    } finally {
      await resonate.stop();
      await network.close();
    }
    // Everything acknowledged is on disk: a fresh open finds every execution resolved.
    const reopened = EmbeddedNetwork.open({ dir });
    try {
      for (let n = 0; n < EXECUTIONS; n++) {
        const got = payload(
          await reopened.send({ kind: "promise.get", head: head(), data: { id: `job-${n}` } }),
        );
        expect(got.promise.state).toBe("resolved");
      }
    } finally {
      await reopened.close();
    }
  }, 120_000);

  it("answers a request only after the transaction that persists it committed", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      const before = network.writeCounters().commits;
      const answered = [1, 2, 3].map((i) =>
        network.send(createPromise(`p-${i}`)).then(() => network.writeCounters().commits),
      );
      // Applied in memory, not yet committed, not yet answered.
      expect(network.writeCounters().commits).toBe(before);
      // All three were answered after one and the same commit.
      expect(await Promise.all(answered)).toEqual([before + 1, before + 1, before + 1]);
    } finally {
      await network.close();
    }
  });

  it("a search sees what was applied before it in the same turn", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      const created = network.send(createPromise("seen-1"));
      const found = payload(
        await network.send({
          kind: "promise.search",
          head: head(),
          data: { state: "pending", limit: 10 },
        }),
      );
      await created;
      expect(found.promises.map((promise) => promise.id)).toEqual(["seen-1"]);
    } finally {
      await network.close();
    }
  });

  it("a failed group commit refuses every request of the group and keeps what was acknowledged", async () => {
    const fatal: StoreError[] = [];
    const network = EmbeddedNetwork.open({
      dir,
      maxSizeBytes: 128 * 1024,
      onFatal: (error) => fatal.push(error),
    });
    for (let i = 0; i < 3; i++) await network.send(createPromise(`kept-${i}`, 8192));
    // One turn: 40 requests of 8 KiB, far more than the file may grow, in one group.
    const group = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => network.send(createPromise(`lost-${i}`, 8192))),
    );
    expect(group.every((outcome) => outcome.status === "rejected")).toBe(true);
    expect(fatal).toHaveLength(1);
    for (const outcome of group) {
      expect(outcome).toMatchObject({ reason: { code: "STORE_WRITE_FAILED" } });
      expect(String((outcome as PromiseRejectedResult).reason.message)).toMatch(/full/);
    }
    await network.close();

    const reopened = EmbeddedNetwork.open({ dir });
    try {
      expect(reopened.stats().promises).toBe(3);
    } finally {
      await reopened.close();
    }
  });
});
