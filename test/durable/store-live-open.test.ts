// Open loads only what is live; everything settled is fetched by id on first use. These
// check that a reopened store still answers for its whole history exactly as before:
// reads, idempotent re-creates, callbacks on settled promises, searches and gc.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };
const EXECUTIONS = 20;

let dir: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-live-"));
  const network = EmbeddedNetwork.open({ dir, durability: "process" });
  const resonate = new Resonate({ network, pid: network.pid });
  const one = resonate.register("one", async (ctx: Context, i: number) =>
    ctx.run(async () => i * 2),
  );
  for (let i = 0; i < EXECUTIONS; i++) await (await one.run(`done-${i}`, i)).result();
  payload(
    await network.send({
      kind: "promise.create",
      head: head(),
      data: { id: "open-1", timeoutAt: Date.now() + 3_600_000, param: {}, tags: { k: "v" } },
    }),
  );
  await resonate.stop();
  await network.close();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("embedded store: open loads what is live", () => {
  it("answers for settled executions it did not load", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      expect(network.stats()).toMatchObject({ promises: EXECUTIONS * 2 + 1, tasks: EXECUTIONS });
      const done = payload(
        await network.send({ kind: "promise.get", head: head(), data: { id: "done-7" } }),
      );
      expect(done.promise.state).toBe("resolved");
      const task = payload(
        await network.send({ kind: "task.get", head: head(), data: { id: "done-7" } }),
      );
      expect(task.task.state).toBe("fulfilled");

      // Creating an id that exists (settled, not loaded) returns it: not a new promise.
      const again = payload(
        await network.send({
          kind: "promise.create",
          head: head(),
          data: { id: "done-3", timeoutAt: Date.now() + 60_000, param: {}, tags: {} },
        }),
      );
      const stored = payload(
        await network.send({ kind: "promise.get", head: head(), data: { id: "done-3" } }),
      );
      expect(again.promise).toEqual(stored.promise);
      expect(again.promise.state).toBe("resolved");

      // A listener on a settled promise is answered at once with its settled state.
      const listened = payload(
        await network.send({
          kind: "promise.register_listener",
          head: head(),
          data: { awaited: "done-5", address: "local://uni@default/x" },
        }),
      );
      expect(listened.promise.state).toBe("resolved");

      // A Resonate handle reads the recorded result.
      const resonate = new Resonate({ network, pid: network.pid });
      try {
        expect(await (await resonate.get("done-11")).result()).toBe(22);
      } finally {
        await resonate.stop();
      }
    } finally {
      await network.close();
    }
  });

  it("searches and gc see the whole store", async () => {
    const network = EmbeddedNetwork.open({ dir });
    try {
      const resolved = payload(
        await network.send({
          kind: "promise.search",
          head: head(),
          data: { state: "resolved", limit: 1_000 },
        }),
      );
      expect(resolved.promises).toHaveLength(EXECUTIONS * 2);
      const lineage = payload(
        await network.send({
          kind: "promise.search",
          head: head(),
          data: { tags: { "resonate:origin": "done-4" } },
        }),
      );
      expect(lineage.promises.map((p) => p.id).sort()).toEqual(["done-4", "done-4:0"]);
      const tasks = payload(
        await network.send({ kind: "task.search", head: head(), data: { state: "fulfilled" } }),
      );
      expect(tasks.tasks).toHaveLength(EXECUTIONS);

      expect(network.gc({ olderThanMs: 0 })).toEqual({
        roots: EXECUTIONS,
        promises: EXECUTIONS * 2,
      });
      expect(network.stats()).toMatchObject({ promises: 1, tasks: 0 });
      const gone = await network.send({
        kind: "promise.get",
        head: head(),
        data: { id: "done-7" },
      });
      expect(gone.head.status).toBe(404);
    } finally {
      await network.close();
    }
  });
});
