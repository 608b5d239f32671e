// Early answers (durable/store/early-answer.ts): a read of committed state and the
// creation of a local step are answered without waiting for the group commit; the
// settlement that acknowledges a step still waits for its commit. So a sequential
// `ctx.run` step costs one commit, not two, and a kill -9 after an early answer loses
// only a pending step, which runs again.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { killStoreChildren, startStoreChild } from "./child-process.ts";
import { head, payload } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const LOCAL_TAGS = { "resonate:scope": "local", "resonate:origin": "root" };

function create(id: string, tags: Record<string, string>) {
  return {
    kind: "promise.create" as const,
    head: head(),
    data: { id, timeoutAt: Date.now() + 60_000, param: {}, tags },
  };
}

function settle(id: string) {
  return {
    kind: "promise.settle" as const,
    head: head(),
    data: { id, state: "resolved" as const, value: { data: "done" } },
  };
}

/** Creates execution "root" and acquires its task for `pid`; returns the task's version. */
async function acquireRoot(network: EmbeddedNetwork, pid: string): Promise<number> {
  await network.send(create("root", { "resonate:target": "local://any@default" }));
  const acquired = await network.send({
    kind: "task.acquire",
    head: head(),
    data: { id: "root", version: 0, pid, ttl: 60_000 },
  });
  expect(acquired.head.status).toBe(200);
  // Acquiring bumps the task's version; the fence names the new one.
  return 1;
}

/** A request made under the task of "root", as the SDK makes every step of a function. */
function fenced(version: number, action: ReturnType<typeof create> | ReturnType<typeof settle>) {
  return { kind: "task.fence" as const, head: head(), data: { id: "root", version, action } };
}

function get(id: string) {
  return { kind: "promise.get" as const, head: head(), data: { id } };
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-early-"));
});
afterEach(async () => {
  await killStoreChildren();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("embedded store: early answers", () => {
  it("answers a local step's create before its commit and commits it with the settlement", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      const version = await acquireRoot(network, network.pid);
      const before = network.writeCounters().commits;
      const created = payload(await network.send(fenced(version, create("step-1", LOCAL_TAGS))));
      expect(created.action.data).toMatchObject({ promise: { state: "pending" } });
      // Answered in this turn: the group that persists it has not committed yet.
      expect(network.writeCounters().commits).toBe(before);
      const settled = network
        .send(fenced(version, settle("step-1")))
        .then(() => network.writeCounters().commits);
      // The settlement is the acknowledgment: answered after the one commit of both.
      expect(await settled).toBe(before + 1);
    } finally {
      await network.close();
    }
    const reopened = EmbeddedNetwork.open({ dir });
    try {
      expect(payload(await reopened.send(get("step-1"))).promise.state).toBe("resolved");
    } finally {
      await reopened.close();
    }
  });

  it("makes a step's create under a task another process holds wait for its commit", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      // A `capsule serve` client: it outlives this process, so it may only see commits.
      const version = await acquireRoot(network, "a-client-process");
      const before = network.writeCounters().commits;
      const commits = await network
        .send(fenced(version, create("step-1", LOCAL_TAGS)))
        .then(() => network.writeCounters().commits);
      expect(commits).toBe(before + 1);
      // Nor does a local create outside any task.
      const unfenced = await network
        .send(create("loose", LOCAL_TAGS))
        .then(() => network.writeCounters().commits);
      expect(unfenced).toBe(before + 2);
    } finally {
      await network.close();
    }
  });

  it("makes other creates, and reads of what the pending group touched, wait for its commit", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      await network.send(create("committed", {}));
      const before = network.writeCounters().commits;
      const commitsWhenAnswered = (response: Promise<unknown>) =>
        response.then(() => network.writeCounters().commits);
      // A root (no local scope) is an acknowledgment of its own.
      const root = commitsWhenAnswered(network.send(create("root", {})));
      const readOfPending = commitsWhenAnswered(network.send(get("root")));
      // Nothing pending touched "committed": its read shows committed state only.
      const readOfCommitted = commitsWhenAnswered(network.send(get("committed")));
      expect(await readOfCommitted).toBe(before);
      expect(await root).toBe(before + 1);
      expect(await readOfPending).toBe(before + 1);
      // Nothing pending: a read is answered at once.
      expect(await commitsWhenAnswered(network.send(get("root")))).toBe(before + 1);
    } finally {
      await network.close();
    }
  });

  it("costs one commit per sequential ctx.run step", async () => {
    const steps = 10;
    const network = EmbeddedNetwork.open({ dir });
    const resonate = new Resonate({ network, pid: network.pid });
    const job = resonate.register("job", async (ctx: Context) => {
      let total = 0;
      for (let i = 0; i < steps; i++) total += await ctx.run(async () => i);
      return total;
    });
    try {
      await (await job.run("warm")).result();
      const before = network.writeCounters().commits;
      expect(await (await job.run("measured")).result()).toBe(45);
      const commits = network.writeCounters().commits - before;
      // Creating, acquiring and fulfilling the execution's task take a few more.
      expect(commits).toBeGreaterThanOrEqual(steps);
      expect(commits).toBeLessThanOrEqual(steps + 4);
    } finally {
      await resonate.stop();
      await network.close();
    }
  });

  it("loses only the pending step when kill -9 lands between an early answer and its commit", {
    timeout: 20_000,
  }, async () => {
    const store = path.join(dir, "store");
    const counter = path.join(dir, "counter");
    const killed = startStoreChild("early-kill", store, counter);
    expect((await killed.exited).signal).toBe("SIGKILL");
    expect(fs.readFileSync(counter, "utf8")).toBe("xy");

    // The kill came before the commit of step 2's create: the store does not know the
    // step, and holds step 1's record whole.
    const inspected = EmbeddedNetwork.open({ dir: store, leasesOnOpen: "keep" });
    try {
      expect((await inspected.send(get("early-job:1"))).head.status).toBe(404);
      expect(payload(await inspected.send(get("early-job:0"))).promise.state).toBe("resolved");
    } finally {
      await inspected.close();
    }

    const resumed = startStoreChild("early-resume", store, counter);
    expect((await resumed.next("done")).result).toBe("early-one-two");
    expect((await resumed.exited).code).toBe(0);
    // Step 1 was recorded and did not run again; step 2 was not and did.
    expect(fs.readFileSync(counter, "utf8")).toBe("xyy");
  });
});
