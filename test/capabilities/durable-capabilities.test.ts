// Capabilities inside durable executes: each call is recorded, so a cell that runs again
// after a real kill -9 (of its worker, or of the orchestrating process) gets the recorded
// result and the host function is not called again. Calls are counted in a file the
// host function appends to.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { killHard, waitForPidsGone } from "../durable/capsule-process.ts";
import { startJsonLinesChild } from "../support/json-lines-child.ts";
import { useStoreDirs } from "../support/store-dirs.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "durable-child.ts");

const dirs = useStoreDirs("capsule-cap-");

function callsMade(): string[] {
  return fs.readFileSync(path.join(dirs.side, "calls.log"), "utf8").split("\n").filter(Boolean);
}

describe("durable capabilities", () => {
  it("a worker killed with SIGKILL after the call: the retried cell gets the recorded result", async () => {
    const child = startJsonLinesChild(FIXTURE, ["cap-kill", dirs.store, dirs.side]);
    const done = await child.next("done");
    expect(done.result).toEqual({ sent: "ops", count: 1 });
    expect(callsMade()).toEqual(["ops"]);
    // The cell really ran twice: once before its worker died, once after.
    expect(fs.readFileSync(path.join(dirs.side, "runs.log"), "utf8")).toBe("run\nrun\n");
    expect((await child.exited).code, child.stderr()).toBe(0);
  });

  it("the orchestrator killed with SIGKILL after the call: the restarted cell does not call again", async () => {
    const first = startJsonLinesChild(FIXTURE, ["cap-hang", dirs.store, dirs.side]);
    const called = await first.next("called");
    await killHard(first);
    expect(await waitForPidsGone([called.workerPid as number])).toEqual([]);
    expect(callsMade()).toEqual(["ops"]);

    const second = startJsonLinesChild(FIXTURE, ["cap-hang", dirs.store, dirs.side]);
    const done = await second.next("done");
    expect(done.result).toEqual({ sent: "ops", count: 1 });
    expect(callsMade()).toEqual(["ops"]);
    expect(second.reports().filter((r) => r.event === "called")).toHaveLength(1);
    expect((await second.exited).code, second.stderr()).toBe(0);
  });

  it("a re-run cell that calls another capability at the same index is refused as diverged", async () => {
    let alphaCalls = 0;
    let betaCalls = 0;
    const capsule = await Capsule.open({
      dir: dirs.store,
      pool: {
        minIdle: 0,
        permissions: { fsRead: [dirs.side], fsWrite: [dirs.side] },
        capabilities: {
          alpha: async () => ++alphaCalls,
          beta: async () => ++betaCalls,
        },
      },
    });
    try {
      const marker = JSON.stringify(path.join(dirs.side, "ran"));
      // First run: alpha(), then the worker dies; the retry takes the other branch.
      const job = capsule.register("diverge", async (ctx) => {
        const result = await ctx.session("main").execute(
          `const fs = require("node:fs");
           let why = "none";
           try {
             if (!fs.existsSync(${marker})) { await alpha(); fs.writeFileSync(${marker}, ""); process.kill(process.pid, "SIGKILL"); }
             await beta();
           } catch (e) { why = e.code + ": " + e.message }
           why`,
        );
        return result.value;
      });
      const result = await (await job.run("diverge-1")).result();
      expect(result).toMatch(
        /^CAPABILITY_DIVERGED: the cell diverged from its record: call 0 was alpha\(\)/,
      );
      expect([alphaCalls, betaCalls]).toEqual([1, 0]);
    } finally {
      await capsule.close();
    }
  });
});
