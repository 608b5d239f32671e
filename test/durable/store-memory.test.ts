/**
 * The store's memory holds live work, not history: a finished execution's promises and
 * task leave memory once committed (settled-branches.ts) and are read back from the
 * database when asked for again.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

describe("embedded store: memory", () => {
  let dir: string;
  let network: EmbeddedNetwork;
  let resonate: Resonate;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-memory-"));
    network = EmbeddedNetwork.open({ dir });
    resonate = new Resonate({ network, pid: network.pid });
  });
  afterEach(async () => {
    await resonate.stop();
    await network.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("forgets finished executions and still answers for them from the database", async () => {
    let calls = 0;
    const steps = resonate.register("steps", async (ctx: Context, n: number) => {
      let sum = 0;
      for (let i = 0; i < 3; i++) {
        sum += await ctx.run(async () => {
          calls += 1;
          return n + i;
        });
      }
      return sum;
    });
    for (let i = 0; i < 150; i++)
      expect(await (await steps.run(`steps-${i}`, i)).result()).toBe(3 * i + 3);
    expect(network.stats()).toMatchObject({ promises: 600, tasks: 150 });
    const held = network.held();
    expect(held.openBranches).toBe(0);
    expect(held.promises).toBeLessThan(10);
    expect(held.tasks).toBeLessThan(10);

    // A finished execution asked for again: its recorded result, nothing runs.
    const before = calls;
    expect(await (await steps.run("steps-7", 7)).result()).toBe(24);
    expect(calls).toBe(before);
    const step = await network.send({
      kind: "promise.get",
      head: head(),
      data: { id: "steps-7:1" },
    });
    expect(step.head.status).toBe(200);
    expect(step.data).toMatchObject({ promise: { id: "steps-7:1", state: "resolved" } });
  });

  it("keeps a running execution's settled steps in memory until the execution ends", async () => {
    const { promise: gate, resolve: open } = Promise.withResolvers<void>();
    const { promise: waiting, resolve: nowWaiting } = Promise.withResolvers<void>();
    const gated = resonate.register("gated", async (ctx: Context) => {
      const first = await ctx.run(async () => "first");
      const second = await ctx.run(async () => {
        nowWaiting();
        await gate;
        return "second";
      });
      return `${first} ${second}`;
    });
    const handle = await gated.run("gated-1");
    await waiting;
    expect(network.held()).toMatchObject({ openBranches: 1 });
    // The root, its finished first step and the running second one.
    expect(network.held().promises).toBe(3);
    open();
    expect(await handle.result()).toBe("first second");
    expect(network.held()).toMatchObject({ openBranches: 0, promises: 0 });
  });
});
