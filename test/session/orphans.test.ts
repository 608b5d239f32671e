import { spawn } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionPool } from "../../src/session/pool.ts";
import { removeOrphanedWorkdirs } from "../../src/session/workdirs.ts";
import {
  type JsonLinesChild,
  killHard,
  killJsonLinesChildren,
  startJsonLinesChild,
} from "../support/json-lines-child.ts";
import { processExists, waitForPidsGone } from "../support/processes.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

const HOST = fileURLToPath(new URL("./fixtures/host.ts", import.meta.url));
const WORKDIR_HOST = fileURLToPath(new URL("./fixtures/workdir-host.ts", import.meta.url));

describe("no orphans", () => {
  it("workers exit when their host is killed with SIGKILL, even mid-cell", async () => {
    const host = spawn(process.execPath, [HOST], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const lines = createInterface({ input: host.stdout });
      const [line] = (await once(lines, "line")) as [string];
      const pids = JSON.parse(line) as number[];
      expect(pids).toHaveLength(3);
      expect(pids.every(processExists)).toBe(true);

      host.kill("SIGKILL");
      await once(host, "exit");
      // Generous: on a loaded 2-core machine the watchdog thread may wait for a slot.
      expect(await waitForPidsGone(pids, 30_000)).toEqual([]);
    } finally {
      host.kill("SIGKILL");
    }
  });
});

afterEach(killJsonLinesChildren);

interface HostReport {
  workers: number[];
  workdirs: string[];
}

/**
 * The hosts and the pool under test use a temporary directory of this test's own, so a
 * pool that another test (or engineer) starts meanwhile cannot sweep the directories first.
 */
let tmpdir: string;
beforeEach(() => {
  tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-orphans-"));
});
afterEach(() => fs.rmSync(tmpdir, { recursive: true, force: true }));

/** Starts a pool the way a restarted host would, with this test's temporary directory. */
function startPoolIn(directory: string): SessionPool {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = directory; // os.tmpdir() reads it on every call
  try {
    return new SessionPool({ minIdle: 0 });
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

async function startHost(sandbox: string): Promise<{ child: JsonLinesChild } & HostReport> {
  const child = startJsonLinesChild(WORKDIR_HOST, [sandbox], { ...process.env, TMPDIR: tmpdir });
  const report = (await child.next("ready")) as unknown as HostReport;
  return { child, workers: report.workers, workdirs: report.workdirs };
}

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`nothing left behind (sandbox: ${sandbox})`, () => {
    it("a new pool removes the working directories of a host killed with SIGKILL, and only those", async () => {
      const [dead, live] = await Promise.all([startHost(sandbox), startHost(sandbox)]);
      await killHard(dead.child);
      // Generous: on a loaded 2-core machine the sandbox may take a moment to tear down.
      expect(await waitForPidsGone(dead.workers, 30_000)).toEqual([]);
      // Nobody was left to remove them.
      expect(dead.workdirs.filter((dir) => fs.existsSync(dir))).toEqual(dead.workdirs);

      expect(dead.workdirs.every((dir) => dir.startsWith(tmpdir))).toBe(true);
      const pool = startPoolIn(tmpdir);
      await pool.close();
      expect(dead.workdirs.filter((dir) => fs.existsSync(dir))).toEqual([]);
      expect(live.workdirs.filter((dir) => fs.existsSync(dir))).toEqual(live.workdirs);
      expect(live.workers.every(processExists)).toBe(true);

      await killHard(live.child);
      expect(await waitForPidsGone(live.workers, 30_000)).toEqual([]);
      expect(removeOrphanedWorkdirs(tmpdir).sort()).toEqual([...live.workdirs].sort());
    });
  });
}
