import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.ts";

describe("examples/streaming-and-input.ts", () => {
  it("streams output before the result and answers input() from its script", async () => {
    const run = await runExample("streaming-and-input.ts");
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split("\n");
    const arrival = (pattern: RegExp) => {
      const line = lines.find((each) => pattern.test(each));
      expect(line, `no line matching ${pattern}`).toBeDefined();
      return Number(/\+(\d+) ms/.exec(line ?? "")?.[1]);
    };
    const ticks = [1, 2, 3, 4, 5].map((n) => arrival(new RegExp(`stdout: tick ${n}$`)));
    const result = arrival(/result: 'done ticking' \(mode top_level_await\)/);
    // Each tick is printed when it arrives, 100 ms of the cell's own waiting apart,
    // so the first one is seen well before the cell ends.
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks);
    expect(ticks[0]).toBeLessThan(result);
    expect(run.stdout).toMatch(/stdout: tick 3\n.*stderr: \(a line on stderr\)\n/);
    expect(run.stdout).toContain('input("Your name? ") → answered "Ada"');
    expect(run.stdout).toContain('input("Favourite number? ") → answered "42"');
    expect(run.stdout).toContain("output: thanks, Ada");
    expect(run.stdout).toContain(
      "result: { name: 'Ada', favourite: 42, doubled: 84 } (mode blocking_sync)",
    );
    expect(run.stdout).toContain("result: 'Ada likes 42'");
  });
});
