/**
 * An idle session gives its heap's slack back (workers/idle-compaction.ts): 10 s after
 * its last cell, the worker's private memory drops by megabytes, the namespace is
 * intact, and no realm a cell can reach has V8's `gc` function.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";

function privateDirtyKiB(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Private_Dirty:\s+(\d+) kB/m.exec(rollup)?.[1]);
}

describe("an idle session", () => {
  it("gives memory back once it has been idle, and keeps its namespace", async () => {
    const session = await startSession();
    await session.execute("const greeting = 'hi'; function twice(x) { return x * 2 }");
    const pid = session.pid!;
    const busy = privateDirtyKiB(pid);
    // Polled, not slept: the drop is awaited for as long as a loaded machine needs.
    let idle = busy;
    for (const deadline = Date.now() + 45_000; Date.now() < deadline; ) {
      idle = privateDirtyKiB(pid);
      if (idle < busy - 2048) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(busy - idle).toBeGreaterThan(2048);
    expect((await session.execute("greeting + twice(3)")).value).toBe("hi6");
  });

  it("never hands V8's gc to a cell: not in its realm, nor in a context it creates", async () => {
    const session = await startSession();
    const r = await session.execute(
      "[typeof gc, typeof globalThis.gc, require('node:vm').runInNewContext('typeof gc')]",
    );
    expect(r.value).toEqual(["undefined", "undefined", "undefined"]);
  });
});
