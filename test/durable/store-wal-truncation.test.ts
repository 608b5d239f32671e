// A lost tail of commits may only make a step run again, never leave a half-applied
// state. A power loss with durability "process" can drop any suffix of the WAL that was
// not yet synced (a torn last frame included), so this records a real run, cuts the WAL
// at every frame boundary, and reopens each cut: a reopen after a reboot must open and
// finish the execution with the right result, re-running exactly the steps whose record
// was cut (a suffix, never a step in the middle); the same cut without a reboot (a
// process crash cannot lose written commits) or with "machine" (every commit fsynced)
// must be refused as STORE_CORRUPT whenever it dropped a commit.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Resonate } from "@resonatehq/sdk/async";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { currentBootId, readGenerationFile } from "../../durable/store/generation.ts";
import { type Durability, EmbeddedNetwork } from "../../durable/store/index.ts";

type Context = { run<T>(step: () => Promise<T>): Promise<T> };

const STEPS = 4;
const EXECUTION = "job-1";
const EXPECTED = Array.from({ length: STEPS }, (_, i) => i * 10).reduce((a, b) => a + b, 0);
const ANOTHER_BOOT = "a-later-boot-of-this-machine";
// No timer-driven tick (and its checkpoint) during the run: the test decides when.
const QUIET = { tickIntervalMs: 2 ** 30 };

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-wal-cut-"));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** Registers the job: STEPS durable steps, each noting in `ran` that it ran. */
function registerJob(
  resonate: Resonate,
  ran: number[],
  beforeStep: (i: number) => void = () => {},
) {
  return resonate.register("job", async (ctx: Context) => {
    let total = 0;
    for (let i = 0; i < STEPS; i++) {
      total += await ctx.run(async () => {
        beforeStep(i);
        ran.push(i);
        return i * 10;
      });
    }
    return total;
  });
}

/**
 * Runs the job to completion in a store and copies the store directory as it is on the
 * kernel's side while the owner is still alive (as a kill -9 would leave it), by `cp`:
 * another process, so this one's POSIX lock on store.db stays intact.
 */
async function recordRun(durability: Durability, checkpointBeforeStep?: number): Promise<string> {
  const dir = path.join(root, "recorded");
  const network = EmbeddedNetwork.open({ dir, durability, ...QUIET });
  const resonate = new Resonate({ network, pid: network.pid });
  const ran: number[] = [];
  // tick() syncs what is committed: the WAL is checkpointed into store.db and restarts.
  const job = registerJob(resonate, ran, (i) => {
    if (i === checkpointBeforeStep) network.tick();
  });
  const snapshot = path.join(root, "snapshot");
  try {
    expect(await (await job.run(EXECUTION)).result()).toBe(EXPECTED);
    expect(ran).toEqual([0, 1, 2, 3]);
    execFileSync("cp", ["-r", dir, snapshot]);
  } finally {
    await resonate.stop();
    await network.close();
  }
  return snapshot;
}

interface Frame {
  /** File offset just past the frame. */
  end: number;
  /** The last frame of a transaction (its header holds the database size). */
  commit: boolean;
}

/** The valid frames of a WAL file (https://sqlite.org/fileformat2.html#walformat). */
function walFrames(wal: Buffer): { frames: Frame[]; pageSize: number } {
  expect(wal.length).toBeGreaterThan(32);
  const rawPageSize = wal.readUInt32BE(8);
  const pageSize = rawPageSize === 1 ? 65_536 : rawPageSize;
  const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  const frames: Frame[] = [];
  for (let offset = 32; offset + 24 + pageSize <= wal.length; offset += 24 + pageSize) {
    if (wal.readUInt32BE(offset + 8) !== salts[0] || wal.readUInt32BE(offset + 12) !== salts[1])
      break;
    frames.push({ end: offset + 24 + pageSize, commit: wal.readUInt32BE(offset + 4) !== 0 });
  }
  return { frames, pageSize };
}

interface Cut {
  /** Bytes of the WAL kept. */
  size: number;
  /** Commits of the WAL that survive the cut. */
  commitsKept: number;
}

/** Every frame boundary of the snapshot's WAL, plus a torn last frame. */
function cutsOf(snapshot: string): { cuts: Cut[]; commits: number } {
  const { frames, pageSize } = walFrames(fs.readFileSync(path.join(snapshot, "store.db-wal")));
  const commits = frames.filter((frame) => frame.commit).length;
  // Each step recorded after the last sync has a commit of its own to lose.
  expect(commits).toBeGreaterThanOrEqual(2);
  const kept = (size: number) => frames.filter((f) => f.commit && f.end <= size).length;
  const sizes = [0, 32, ...frames.map((frame) => frame.end)];
  const last = frames.at(-1);
  if (last !== undefined) sizes.push(last.end - pageSize / 2);
  return { cuts: sizes.map((size) => ({ size, commitsKept: kept(size) })), commits };
}

/** A copy of the snapshot with its WAL cut to `size` bytes. */
function cutCopy(snapshot: string, cut: Cut, index: number): string {
  const dir = path.join(root, `cut-${index}`);
  fs.cpSync(snapshot, dir, { recursive: true });
  fs.truncateSync(path.join(dir, "store.db-wal"), cut.size);
  return dir;
}

/** Reopens a cut store and finishes the execution; the steps that ran again, in order. */
async function resume(dir: string, bootId: string): Promise<number[]> {
  const network = EmbeddedNetwork.open({ dir, bootId, ...QUIET });
  const resonate = new Resonate({ network, pid: network.pid });
  const ran: number[] = [];
  const job = registerJob(resonate, ran);
  try {
    expect(await (await job.run(EXECUTION)).result()).toBe(EXPECTED);
    // Finished now: asking again runs nothing.
    const before = ran.length;
    expect(await (await job.run(EXECUTION)).result()).toBe(EXPECTED);
    expect(ran.length).toBe(before);
  } finally {
    await resonate.stop();
    await network.close();
  }
  return ran;
}

function expectSuffixOfSteps(ran: number[]): number {
  const first = ran[0] ?? STEPS;
  expect(ran).toEqual(Array.from({ length: STEPS - first }, (_, k) => first + k));
  return first;
}

function expectCorrupt(dir: string, bootId: string): void {
  expect(() => EmbeddedNetwork.open({ dir, bootId, ...QUIET })).toThrow(
    expect.objectContaining({ code: "STORE_CORRUPT" }),
  );
}

describe("embedded store: a WAL cut at every frame boundary", () => {
  for (const checkpointBeforeStep of [undefined, 2]) {
    const label =
      checkpointBeforeStep === undefined
        ? "nothing synced yet"
        : `synced before step ${checkpointBeforeStep}`;
    it(`process, after a reboot (${label}): every cut opens and re-runs only unrecorded steps`, async () => {
      const snapshot = await recordRun("process", checkpointBeforeStep);
      // The sync is claimed: after a reboot the store must hold at least that much.
      const record = readGenerationFile(snapshot);
      if (checkpointBeforeStep === undefined) expect(record?.durable).toBe(0);
      else expect(record?.durable).toBeGreaterThan(0);
      expect(record?.count).toBeGreaterThan(record?.durable ?? 0);
      const { cuts } = cutsOf(snapshot);
      const firsts: number[] = [];
      for (const [index, cut] of cuts.entries()) {
        const first = expectSuffixOfSteps(
          await resume(cutCopy(snapshot, cut, index), ANOTHER_BOOT),
        );
        // What was synced survives any cut: those steps never run again.
        expect(first).toBeGreaterThanOrEqual(checkpointBeforeStep ?? 0);
        firsts.push(first);
      }
      // More of the log kept never means more steps run again (the last cut, a torn
      // frame, keeps at most what the boundary before it keeps)...
      const boundaries = firsts.slice(0, -1);
      expect(boundaries).toEqual([...boundaries].sort((a, b) => a - b));
      // ...and the whole log kept means nothing runs again.
      expect(boundaries.at(-1)).toBe(STEPS);
    }, 120_000);
  }

  it("process, same boot: a cut that drops a commit is damage, reported; the rest open", async () => {
    const snapshot = await recordRun("process", 2);
    const { cuts, commits } = cutsOf(snapshot);
    for (const [index, cut] of cuts.entries()) {
      const dir = cutCopy(snapshot, cut, index);
      if (cut.commitsKept < commits) expectCorrupt(dir, currentBootId());
      else expect(await resume(dir, currentBootId())).toEqual([]);
    }
  }, 120_000);

  it("machine, after a reboot: every commit was fsynced, so a cut that drops one is reported", async () => {
    const snapshot = await recordRun("machine");
    const { cuts, commits } = cutsOf(snapshot);
    for (const [index, cut] of cuts.entries()) {
      const dir = cutCopy(snapshot, cut, index);
      if (cut.commitsKept < commits) expectCorrupt(dir, ANOTHER_BOOT);
      else expect(await resume(dir, ANOTHER_BOOT)).toEqual([]);
    }
  }, 120_000);
});
