import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.ts";

describe("examples/crash-and-resume.ts (npm start)", () => {
  it("is killed with SIGKILL in cell 4, resumes, replays cells 1-3 and runs 4-5 on a restored worker", async () => {
    const run = await runExample("crash-and-resume.ts");
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/run 1 │ ✖ kill -9 \d+ \(the orchestrator\) in the middle of cell 4/);
    expect(out).toContain("run 1 │ orchestrator ended by SIGKILL");
    for (const n of [1, 2, 3]) {
      expect(out).toMatch(new RegExp(`run 1 │ cell ${n}/5 ✔ ran on worker pid \\d+`));
      expect(out).toMatch(new RegExp(`run 2 │ cell ${n}/5 ✔ replayed from the record`));
    }
    expect(out).not.toMatch(/run 1 │ cell 4\/5 ✔/);
    // The restarted cell sees the namespace recorded before the crash.
    expect(out).toContain("run 2 │     namespace: rows=5000 clean=4258 total=213569");
    expect(out).toMatch(/run 2 │ cell 4\/5 ✔ ran on worker pid \d+ → 10/);
    expect(out).toContain("replayed from the record (not run again): cells 1, 2, 3");
    expect(out).toContain("ran in run 2 on a restored worker:        cells 4, 5");
    expect(out).toContain("the result equals an uninterrupted run's: the crash lost nothing");
    const store = /Its store: (\S+)/.exec(out)?.[1];
    expect(store).toBeDefined();
    expect(fs.existsSync(store ?? "")).toBe(false);
  });
});
