// A cell that kills its orchestrating process (process.kill(process.ppid, "SIGKILL"),
// possible where the worker has no pid namespace of its own, i.e. sandbox
// "permissions-only", and child processes are granted) must not crash-loop the durable
// job: after the default
// 3 deaths the step is recorded as failed with PoisonCellError, the host survives, and
// the steps recorded before it are not run again.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { useStoreDirs } from "../support/store-dirs.ts";
import { startCapsuleChild, waitForPidsGone } from "./capsule-process.ts";

const dirs = useStoreDirs("capsule-poison-");

function lines(file: string): string[] {
  const full = path.join(dirs.side, file);
  return fs.existsSync(full) ? fs.readFileSync(full, "utf8").split("\n").filter(Boolean) : [];
}

describe("a poison cell", () => {
  // Five orchestrator processes, one after the other, each starting a worker.
  it("is failed with PoisonCellError after killing its orchestrator 3 times", {
    timeout: 180_000,
  }, async () => {
    for (let kill = 1; kill <= 3; kill++) {
      const child = startCapsuleChild(["poison", dirs.store, dirs.side]);
      const exit = await child.exited;
      // The cell's own SIGKILL, not a crash of Capsule.
      expect(exit, child.stderr()).toEqual({ code: null, signal: "SIGKILL" });
      expect(lines("killers.log")).toHaveLength(kill);
    }
    // The workers of the killed processes are gone with them.
    expect(await waitForPidsGone(lines("killers.log").map(Number))).toEqual([]);

    const survivor = startCapsuleChild(["poison", dirs.store, dirs.side]);
    const failed = await survivor.next("failed");
    expect(await survivor.exited, survivor.stderr()).toEqual({ code: 0, signal: null });
    expect(failed).toMatchObject({
      name: "PoisonCellError",
      code: "POISON_CELL",
      session: "main",
      step: 1,
      kills: 3,
    });
    // Named by the start of its source (the fixture's cells start with their counter).
    expect(String(failed.source)).toMatch(/^require\("node:fs"\)\.appendFileSync\(/);
    expect(String(failed.source).length).toBeLessThanOrEqual(80);
    expect(String(failed.message)).toMatch(/cell 1 of session "main" killed .* 3 times/);
    // Cell 1 was recorded before the first death: never run again. Cell 2 ran once per
    // death and not in the surviving process.
    expect(lines("cells.log")).toEqual(["1", "2", "2", "2"]);

    // The failure is recorded: a later process reads it back without running anything.
    const reader = startCapsuleChild(["poison", dirs.store, dirs.side]);
    expect(await reader.next("failed")).toMatchObject({ code: "POISON_CELL", kills: 3 });
    const shown = await reader.next("show");
    expect(await reader.exited).toEqual({ code: 0, signal: null });
    const cells = (shown.view as { cells: { state: string; error?: { code: string } }[] }).cells;
    expect(cells.map((cell) => cell.state)).toEqual(["resolved", "rejected"]);
    expect(cells[1]?.error?.code).toBe("POISON_CELL");
    expect(lines("cells.log")).toHaveLength(4);
  });

  it("honours poisonAfterKills: with 1, the first death is the last", async () => {
    const env = { ...process.env, CAPSULE_TEST_POISON_AFTER: "1" };
    const killed = startCapsuleChild(["poison", dirs.store, dirs.side], env);
    expect(await killed.exited).toEqual({ code: null, signal: "SIGKILL" });
    const survivor = startCapsuleChild(["poison", dirs.store, dirs.side], env);
    expect(await survivor.next("failed")).toMatchObject({ code: "POISON_CELL", kills: 1 });
    expect(await survivor.exited).toEqual({ code: 0, signal: null });
    expect(lines("cells.log")).toEqual(["1", "2"]);
  });

  it("rejects a poisonAfterKills that is not a positive integer, before locking the store", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(Capsule.open({ dir: dirs.store, poisonAfterKills: bad })).rejects.toThrow(
        RangeError,
      );
    }
    // The store was never taken: it opens at once.
    const capsule = await Capsule.open({ dir: dirs.store, pool: { minIdle: 0 } });
    await capsule.close();
  });
});
