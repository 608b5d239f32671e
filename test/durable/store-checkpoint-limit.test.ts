// A cell whose checkpoint is over `limits.checkpointBytes`: the step fails with
// CheckpointError CHECKPOINT_TOO_LARGE instead of being recorded without what the cell
// changed (a resume would then silently miss those names), everything recorded before it
// stays, and the live session goes on from the previous recorded cell, as a resume does.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";

const LIMIT = 64 * 1024;
// Random text does not shrink in the checkpoint: ~300 KB, far over the limit.
const LARGE =
  "const large = Array.from({ length: 300000 }, () => Math.random().toString(36).slice(2, 3)).join(''); large.length";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-checkpoint-limit-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): Promise<Capsule> {
  return Capsule.open({ dir, pool: { minIdle: 0, limits: { checkpointBytes: LIMIT } } });
}

function register(capsule: Capsule) {
  return capsule.register("job", async (ctx) => {
    const s = ctx.session("main");
    const one = await s.execute("let a = 41; a");
    // The function's value is recorded as JSON: keep the error's class and code.
    const failure = await s.execute(LARGE).then(
      () => undefined,
      (error: Error & { code?: string }) => ({ name: error.name, code: error.code }),
    );
    const after = await s.execute("typeof large + ' ' + (a + 1)");
    return { one: one.value, failure, after: after.value };
  });
}

describe("durable execute: a checkpoint over limits.checkpointBytes", () => {
  it("fails the step with CHECKPOINT_TOO_LARGE and loses nothing recorded", {
    timeout: 60_000,
  }, async () => {
    let capsule = await open();
    try {
      const outcome = await (await register(capsule).run("big")).result();
      expect(outcome.one).toBe(41);
      expect(outcome.failure).toMatchObject({
        name: "CheckpointError",
        code: "CHECKPOINT_TOO_LARGE",
      });
      // The live session went back to cell 1, which is what a resume would see.
      expect(outcome.after).toBe("undefined 42");
    } finally {
      await capsule.close();
    }

    capsule = await open();
    try {
      const cells = (await capsule.show("big")).cells;
      expect(cells.map((cell) => cell.state)).toEqual(["resolved", "rejected", "resolved"]);
      // The same id in the reopened store is the recorded execution, as it ran.
      const replayed = await (await register(capsule).run("big")).result();
      expect(replayed).toMatchObject({ one: 41, after: "undefined 42" });
      expect(replayed.failure).toMatchObject({ code: "CHECKPOINT_TOO_LARGE" });
    } finally {
      await capsule.close();
    }
  });
});
