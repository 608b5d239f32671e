import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { killStoreChildren, startStoreChild } from "./child-process.ts";

describe("embedded store: recovery after kill -9", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-crash-"));
  });
  afterEach(async () => {
    await killStoreChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("resumes a killed workflow at once, without re-running its recorded step", {
    timeout: 20_000,
  }, async () => {
    const store = path.join(dir, "store");
    const counter = path.join(dir, "counter");

    const crashing = startStoreChild("crash", store, counter);
    await crashing.next("reached");
    crashing.process.kill("SIGKILL");
    expect((await crashing.exited).signal).toBe("SIGKILL");
    expect(fs.readFileSync(counter, "utf8")).toBe("x");

    const resuming = startStoreChild("resume", store, counter);
    const opened = await resuming.next("opened");
    expect(opened.recovery).toEqual({ releasedTasks: ["crash-job"], redispatchedTasks: [] });
    const done = await resuming.next("done");
    console.log(
      `resumed after kill -9 in ${Number(done.elapsedMs).toFixed(0)} ms (SDK lease: 60000 ms)`,
    );

    expect(done.result).toBe("crash-one-two");
    // Step 1 was recorded before the crash: it did not run again.
    expect(fs.readFileSync(counter, "utf8")).toBe("x");
    expect((await resuming.exited).code).toBe(0);
  });
});
