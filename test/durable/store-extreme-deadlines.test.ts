// Deadlines past 2^53 ms (a public SDK option such as `ttl: Number.MAX_SAFE_INTEGER`, or
// any promise timeout that far out) are written so that they read back exactly as the
// SDK's in-memory server holds them; before, node:sqlite could not read such an
// INTEGER back (RangeError) and every later open failed with STORE_CORRUPT.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { createProtocolServer } from "../../durable/store/sdk.ts";
import { head, payload } from "./store-requests.ts";

const NOW = 1_700_000_000_000;
const DEADLINES = [
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  2 ** 60,
  NOW + Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
];

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-deadlines-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function createRequest(id: string, timeoutAt: number) {
  return {
    kind: "promise.create" as const,
    head: head(),
    data: { id, timeoutAt, param: { headers: {}, data: "" }, tags: {} },
  };
}

function leaseRequest(ttl: number) {
  return {
    kind: "task.create" as const,
    head: head(),
    data: {
      pid: "holder",
      ttl,
      action: {
        kind: "promise.create" as const,
        head: head(),
        data: {
          id: "leased",
          timeoutAt: 2 ** 60,
          param: { headers: {}, data: "" },
          tags: { "resonate:target": "local://any@default" },
        },
      },
    },
  };
}

describe("embedded store: deadlines past 2^53 ms", () => {
  it("reads promise timeouts and task leases back exactly, as the in-memory server has them", async () => {
    const network = EmbeddedNetwork.open({ dir, now: () => NOW, keepLeasesAlive: false });
    const memory = createProtocolServer();
    for (const [i, timeoutAt] of DEADLINES.entries()) {
      payload(await network.send(createRequest(`p-${i}`, timeoutAt)));
      memory.apply(NOW, createRequest(`p-${i}`, timeoutAt));
    }
    const lease = payload(await network.send(leaseRequest(Number.MAX_SAFE_INTEGER)));
    memory.apply(NOW, leaseRequest(Number.MAX_SAFE_INTEGER));
    expect(lease.task?.state).toBe("acquired");
    await network.close();

    // Before the fix this open threw STORE_CORRUPT (RangeError reading the timeouts).
    const reopened = EmbeddedNetwork.open({ dir, now: () => NOW, keepLeasesAlive: false });
    try {
      for (const [i, timeoutAt] of DEADLINES.entries()) {
        const got = payload(
          await reopened.send({ kind: "promise.get", head: head(), data: { id: `p-${i}` } }),
        );
        expect(got.promise.timeoutAt).toBe(timeoutAt);
        expect(got.promise.timeoutAt).toBe(memory.promises.get(`p-${i}`)?.timeoutAt);
        expect(got.promise.state).toBe("pending");
      }
      // The dead holder's lease was released at open, as for any lease.
      expect(reopened.recovery.releasedTasks).toEqual(["leased"]);
      // Far-future timeouts do not fire on a tick.
      reopened.tick();
      const leased = payload(
        await reopened.send({ kind: "promise.get", head: head(), data: { id: "leased" } }),
      );
      expect(leased.promise.state).toBe("pending");
    } finally {
      await reopened.close();
    }
  });

  it("recovers an execution leased under new Resonate({ ttl: Number.MAX_SAFE_INTEGER })", async () => {
    type Ctx = { run<T>(step: () => Promise<T>): Promise<T> };
    const ttl = Number.MAX_SAFE_INTEGER;
    const first = EmbeddedNetwork.open({ dir });
    const resonate = new Resonate({ network: first, pid: first.pid, ttl });
    const { promise: stepStarted, resolve: startStep } = Promise.withResolvers<void>();
    // The first process stops while the step runs: the task is left acquired under a
    // lease ending at now + MAX_SAFE_INTEGER.
    resonate.register("double", async (ctx: Ctx, n: number) =>
      ctx
        .run(async () => {
          startStep();
          return await new Promise<number>(() => {});
        })
        .then(() => n * 2),
    );
    await resonate.run("double-1", "double", 21);
    await stepStarted;
    await resonate.stop();
    await first.close();

    const second = EmbeddedNetwork.open({ dir });
    const again = new Resonate({ network: second, pid: second.pid, ttl });
    again.register("double", async (ctx: Ctx, n: number) => ctx.run(async () => n * 2));
    try {
      expect(second.recovery.releasedTasks).toEqual(["double-1"]);
      expect(await (await again.get("double-1")).result()).toBe(42);
    } finally {
      await again.stop();
      await second.close();
    }
  });
});
