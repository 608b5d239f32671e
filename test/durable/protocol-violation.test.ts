// A durable cell whose worker breaks the wire protocol (the cell wrote garbage to its own
// frame pipe): the step is recorded as failed with PROTOCOL_VIOLATION, not retried (the
// same cell would break it the same way), and the session goes on restored.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { ProtocolError } from "../../src/errors.ts";

let root: string;
let sideDir: string;
let capsule: Capsule;

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-violation-"));
  sideDir = path.join(root, "side");
  fs.mkdirSync(sideDir);
  capsule = await Capsule.open({
    dir: path.join(root, "capsule"),
    pool: { minIdle: 0, permissions: { fsRead: [sideDir], fsWrite: [sideDir] } },
  });
});

afterEach(async () => {
  await capsule.close();
  fs.rmSync(root, { recursive: true, force: true });
});

it("records a protocol violation as the cell's failure, runs it once, and restores the session", async () => {
  const runs = path.join(sideDir, "runs");
  const garbage = "Buffer.from([0, 0, 0, 2, 0xc1, 0xc1])";
  let caught: unknown;
  const forging = capsule.register("forging", async (ctx) => {
    const s = ctx.session("s");
    await s.execute("const kept = 41");
    try {
      await s.execute(
        `const fs = require("node:fs"); fs.appendFileSync(${JSON.stringify(runs)}, "x"); fs.writeSync(3, ${garbage})`,
      );
    } catch (error) {
      caught = error;
    }
    return (await s.execute("kept + 1")).value;
  });
  expect(await (await forging.run("forging-1")).result()).toBe(42);
  expect(caught).toBeInstanceOf(ProtocolError);
  expect(caught).toMatchObject({ code: "PROTOCOL_VIOLATION", retryable: false });
  expect(fs.readFileSync(runs, "utf8")).toBe("x");
});
