import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { announcedDirs, runExample } from "./run-example.ts";

describe("examples/quickstart.ts", () => {
  it("runs a durable function of cells, returns its result, and reuses it by id", async () => {
    const run = await runExample("quickstart.ts");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      "cell: const mean = data.reduce((a, b) => a + b, 0) / data.length; mean\n    → 5\n",
    );
    expect(run.stdout).toContain("    | 8 numbers, mean 5\n");
    expect(run.stdout.match(/result: \{"mean":5,"sd":2\}/g)).toHaveLength(2);
    // The second run of the same id runs no cell.
    expect(run.stdout.match(/ {2}cell: /g)).toHaveLength(4);
    expect(run.stdout).toContain('the store holds 4 recorded cells of "stats-1" (state resolved)');
    const dirs = announcedDirs(run.stdout);
    expect(dirs).toHaveLength(1);
    for (const dir of dirs) expect(fs.existsSync(dir)).toBe(false);
  });
});
