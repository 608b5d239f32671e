import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { killStoreChildren, startStoreChild } from "./child-process.ts";
import { head, payload } from "./store-requests.ts";

type Context = {
  run<T>(step: () => Promise<T>): Promise<T>;
  sleep(ms: number): PromiseLike<void>;
};

describe("embedded store: persistence", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-persist-"));
  });
  afterEach(async () => {
    await killStoreChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("runs a registered durable function to completion on a real Resonate", async () => {
    const network = EmbeddedNetwork.open({ dir });
    const resonate = new Resonate({ network, pid: network.pid });
    const calls: string[] = [];
    const greet = resonate.register("greet", async (ctx: Context, name: string) => {
      const upper = await ctx.run(async () => {
        calls.push("upper");
        return name.toUpperCase();
      });
      return `hello ${upper}`;
    });
    try {
      const handle = await greet.run("greet-1", "ada");
      expect(await handle.result()).toBe("hello ADA");
      expect(calls).toEqual(["upper"]);
      // Running the same id again returns the recorded result without running anything.
      expect(await (await greet.run("greet-1", "ada")).result()).toBe("hello ADA");
      expect(calls).toEqual(["upper"]);
    } finally {
      await resonate.stop();
      await network.close();
    }
  });

  it("keeps promises and tasks written by another process after it exits", async () => {
    const writer = startStoreChild("complete", dir);
    expect((await writer.next("done")).result).toBe("done-one-two");
    expect((await writer.exited).code).toBe(0);

    const network = EmbeddedNetwork.open({ dir });
    try {
      expect(network.stats()).toMatchObject({ promises: 3, tasks: 1 });
      const root = await network.send({
        kind: "promise.get",
        head: head(),
        data: { id: "done-job" },
      });
      expect(payload(root).promise.state).toBe("resolved");
      const task = await network.send({ kind: "task.get", head: head(), data: { id: "done-job" } });
      expect(payload(task).task.state).toBe("fulfilled");
    } finally {
      await network.close();
    }
  });

  it("a durable sleep started before close wakes after reopen, from persisted timeouts", async () => {
    const HOURS_2 = 2 * 3_600_000;
    const sleeper = async (ctx: Context) => {
      await ctx.sleep(3_600_000);
      return "woke";
    };

    const first = EmbeddedNetwork.open({ dir });
    const suspended = Promise.withResolvers<void>();
    const send = first.send;
    // Resonate keeps the send function it was given: observe the root task suspending.
    first.send = (req) => {
      const response = send(req);
      if (req.kind === "task.suspend" && Reflect.get(req.data, "id") === "sleeper") {
        void response.then(() => suspended.resolve());
      }
      return response;
    };
    const before = new Resonate({ network: first, pid: first.pid });
    before.register("sleeper", sleeper);
    await before.run("sleeper", "sleeper");
    await suspended.promise;
    await before.stop();
    await first.close();

    // Two hours later (injected clock): the timer is due when the store is opened.
    const second = EmbeddedNetwork.open({ dir, now: () => Date.now() + HOURS_2 });
    const after = new Resonate({ network: second, pid: second.pid });
    after.register("sleeper", sleeper);
    try {
      expect(await (await after.get("sleeper")).result()).toBe("woke");
    } finally {
      await after.stop();
      await second.close();
    }
  });

  it("restores callbacks, listeners and timeouts (the Sets the change records omit)", async () => {
    const first = EmbeddedNetwork.open({ dir });
    const timeoutAt = Date.now() + 3_600_000;
    const target = { "resonate:target": first.anycast };
    await first.send({
      kind: "task.create",
      head: head(),
      data: {
        pid: "p1",
        ttl: 60_000,
        action: {
          kind: "promise.create",
          head: head(),
          data: { id: "awaiter", timeoutAt, param: {}, tags: target },
        },
      },
    });
    await first.send({
      kind: "promise.create",
      head: head(),
      data: { id: "awaited", timeoutAt, param: {}, tags: { "resonate:scope": "global" } },
    });
    const suspended = await first.send({
      kind: "task.suspend",
      head: head(),
      data: {
        id: "awaiter",
        version: 1,
        actions: [
          {
            kind: "promise.register_callback",
            head: head(),
            data: { awaiter: "awaiter", awaited: "awaited" },
          },
        ],
      },
    });
    expect(suspended.head.status).toBe(200);
    await first.send({
      kind: "promise.register_listener",
      head: head(),
      data: { awaited: "awaited", address: "local://uni@default/someone" },
    });
    await first.close();

    const second = EmbeddedNetwork.open({ dir });
    try {
      const snap = await second.send({ kind: "debug.snap", head: head(), data: {} });
      const state = payload(snap);
      expect(state.callbacks).toEqual([{ awaiter: "awaiter", awaited: "awaited" }]);
      expect(state.listeners).toEqual([{ id: "awaited", address: "local://uni@default/someone" }]);
      expect(state.promiseTimeouts).toEqual([{ id: "awaiter", timeout: timeoutAt }]);
      expect(state.tasks).toEqual([
        expect.objectContaining({ id: "awaiter", state: "suspended", version: 1 }),
      ]);
      // Settling the awaited promise resumes the awaiter in the rebuilt server.
      await second.send({
        kind: "promise.settle",
        head: head(),
        data: { id: "awaited", state: "resolved", value: {} },
      });
      const task = await second.send({ kind: "task.get", head: head(), data: { id: "awaiter" } });
      expect(payload(task).task).toMatchObject({ state: "pending", resumes: ["awaited"] });
    } finally {
      await second.close();
    }
  });
});
