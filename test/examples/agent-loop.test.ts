import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { announcedDirs, runExample } from "./run-example.ts";

describe("examples/agent-loop.ts", () => {
  it("recovers from its failing cells, survives SIGKILL, and answers", async () => {
    const run = await runExample("agent-loop.ts");
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    // Its own mistakes: each ReferenceError leads to a cell defining the missing name.
    expect(out).toContain("run 1 │   ran ✖ ReferenceError: range is not defined");
    expect(out).toContain(
      "run 1 │ step 2 model: the cell failed (ReferenceError: range is not defined",
    );
    expect(out).toContain("run 1 │   ran ✖ ReferenceError: isPrime is not defined");
    expect(out).toMatch(
      /run 1 │ ✖ kill -9 \d+ \(the agent's process\)\n {2}run 1 │ agent ended by SIGKILL/,
    );
    // After the restart the four recorded steps (failures too) replay; the helpers defined
    // before the crash are in the restored namespace, so the retried cell now succeeds.
    expect(out).toContain(
      "run 2 │   replayed from the record ✖ ReferenceError: range is not defined",
    );
    expect(out).toContain("cells replayed from the record: steps 1, 2, 3, 4");
    expect(out).toContain("cells run after the restart:    steps 5, 6");
    expect(out).toContain("run 2 │   ran → 25");
    expect(out).toContain("answer: the mean of the prime numbers below 100 is 42.4");
    for (const dir of announcedDirs(out)) expect(fs.existsSync(dir)).toBe(false);
  });
});
