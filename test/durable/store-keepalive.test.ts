import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const TTL_MS = 10_000;

/** A Resonate on an embedded store whose clock and ticks the test drives. */
function harness(dir: string, keepLeasesAlive: boolean) {
  let clock = Date.now();
  const network = EmbeddedNetwork.open({
    dir,
    keepLeasesAlive,
    now: () => clock,
    tickIntervalMs: 24 * 3_600_000, // never on its own: the test calls tick()
  });
  const resonate = new Resonate({ network, pid: network.pid, ttl: TTL_MS });
  const entries: PromiseWithResolvers<void>[] = [Promise.withResolvers(), Promise.withResolvers()];
  let entered = 0;
  const finishStep = Promise.withResolvers<void>();
  const job = resonate.register("longStep", async (ctx: Context) => {
    return ctx.run(async () => {
      entries[entered]?.resolve();
      entered += 1;
      await finishStep.promise;
      return "finished";
    });
  });
  const advance = (ms: number) => {
    clock += ms;
    network.tick();
  };
  const task = async () => {
    const res = await network.send({ kind: "task.get", head: head(), data: { id: "long-1" } });
    return payload(res).task;
  };
  // The step is left hanging if the test did not finish it: resolving it after the store
  // is closed would only make the SDK log failed writes.
  const close = async () => {
    await resonate.stop();
    await network.close();
  };
  return { job, entries, advance, task, finishStep, close, entered: () => entered };
}

describe("embedded store: leases of long steps", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-lease-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the lease of a step running six times longer than the ttl: it runs once", async () => {
    const h = harness(dir, true);
    try {
      const handle = await h.job.run("long-1");
      await h.entries[0]?.promise;
      for (let elapsed = 0; elapsed < 6 * TTL_MS; elapsed += TTL_MS / 4) {
        h.advance(TTL_MS / 4);
        expect(await h.task()).toMatchObject({ state: "acquired", version: 1 });
      }
      h.finishStep.resolve();
      expect(await handle.result()).toBe("finished");
      expect(h.entered()).toBe(1);
    } finally {
      await h.close();
    }
  });

  it("without keep-alive the same step is dispatched again once the lease lapses (control)", async () => {
    const h = harness(dir, false);
    try {
      await h.job.run("long-1");
      await h.entries[0]?.promise;
      h.advance(TTL_MS + 1);
      // The lapsed lease was released and re-dispatched: the step runs a second time.
      await h.entries[1]?.promise;
      expect(h.entered()).toBe(2);
      expect((await h.task()).version).toBe(2);
    } finally {
      await h.close();
    }
  });
});
