// Remote mode across real processes: orchestrators talk to a `capsule serve` store over
// HTTP. A long step keeps its lease (the SDK does not heartbeat tasks started with run),
// and after a kill -9 another process of the group takes the work over once the dead
// one's lease runs out.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningServer, serve } from "../../durable/serve/http-server.ts";
import {
  killCapsuleChildren,
  killHard,
  startCapsuleChild,
  waitForPidsGone,
} from "./capsule-process.ts";

let root: string;
let sideDir: string;
let server: RunningServer;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-remote-"));
  sideDir = path.join(root, "side");
  fs.mkdirSync(sideDir);
  server = await serve({ dir: path.join(root, "served"), port: 0 });
  env = { ...process.env, RESONATE_URL: server.url };
});

afterEach(async () => {
  await killCapsuleChildren();
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function cellLog(): string[] {
  return fs.readFileSync(path.join(sideDir, "cells.log"), "utf8").split("\n").filter(Boolean);
}

/** The directory argument is unused in remote mode (the server holds the store). */
const UNUSED_DIR = "-";

describe("remote mode across processes", () => {
  it("a cell longer than the task lease runs once", async () => {
    // Lease 1 s, cell 4 s: without the keeper the server would hand the task out again.
    const child = startCapsuleChild(["long", UNUSED_DIR, sideDir, "-", "4000"], env);
    const done = await child.next("done");
    expect(done.result).toBe("slept");
    expect((await child.exited).code, child.stderr()).toBe(0);
    expect(cellLog()).toEqual(["1"]);
  });

  it("after a kill -9 between cells, another process resumes once the lease runs out", async () => {
    const leased = { ...env, CAPSULE_TEST_LEASE_MS: "1500" };
    const crashed = startCapsuleChild(["crash", UNUSED_DIR, sideDir, "between"], leased);
    await crashed.next("cell");
    const workers = crashed
      .reports()
      .filter((r) => r.event === "cell" && typeof r.workerPid === "number")
      .map((r) => r.workerPid as number);
    await killHard(crashed);
    expect(await waitForPidsGone(workers)).toEqual([]);

    const resumed = startCapsuleChild(["resume", UNUSED_DIR, sideDir], leased);
    const done = await resumed.next("done");
    expect(done.result).toBe("60-ok");
    expect((await resumed.exited).code, resumed.stderr()).toBe(0);
    const runs: Record<string, number> = {};
    for (const n of cellLog()) runs[n] = (runs[n] ?? 0) + 1;
    expect(runs).toEqual({ "1": 1, "2": 1, "3": 1 });
  });
});
