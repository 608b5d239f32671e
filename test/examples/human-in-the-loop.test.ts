import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.ts";

describe("examples/human-in-the-loop.ts", () => {
  it("asks, exits unanswered, is approved with capsule answer, and a restart finishes the job", async () => {
    const run = await runExample("human-in-the-loop.ts");
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    const [, run1 = "", rest = ""] = out.split(/^run \d: .*$/m);
    expect(run1).toContain("cell 1 ran");
    expect(run1).toMatch(
      /waiting for an answer to deploy-1:1\.input-0: "deploy web v42 to 3 replicas\? \(yes\/no\)"/,
    );
    expect(run1).not.toContain("notify");
    expect(out).toContain("answered deploy-1:1.input-0");
    expect(rest).toContain("cell 1 replayed from the record");
    expect(rest).toContain("cell 2 ran");
    // The capability ran once, after the approval.
    expect(out.match(/\[host\] notify #ops: web: deployed v42/g)).toHaveLength(1);
    expect(rest).toContain('result: "deployed v42"');
    expect(run.stderr).toBe("");
    const store = /Its store: (\S+)/.exec(out)?.[1];
    expect(fs.existsSync(store ?? "")).toBe(false);
  });
});
