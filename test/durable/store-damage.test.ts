// A damaged store must not open silently empty or partial. Each kind of damage below
// used to open "fine" with executions missing; now the open fails with STORE_CORRUPT,
// changes no file, and once the damage is undone the store opens with everything.
// Damage SQLite repairs on its own (a torn write after the last commit) still opens.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { killHard } from "./capsule-process.ts";
import { killStoreChildren, startStoreChild } from "./child-process.ts";
import { head, payload } from "./store-requests.ts";

let dir: string;
let db: string;
let wal: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-damage-"));
  db = path.join(dir, "store.db");
  wal = `${db}-wal`;
});
afterEach(async () => {
  await killStoreChildren();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The content of a file; a missing one is empty (the read-only check may create an empty WAL). */
function digest(file: string): string {
  const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
  return createHash("sha256").update(bytes).digest("hex");
}

/** Asserts that opening fails with STORE_CORRUPT and leaves the files' content as it was. */
function expectCorruptOpen(detail: RegExp): void {
  const before = [digest(db), digest(wal)];
  for (let attempt = 0; attempt < 2; attempt++) {
    expect(() => EmbeddedNetwork.open({ dir })).toThrow(
      expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(detail) }),
    );
  }
  expect([digest(db), digest(wal)]).toEqual(before);
}

async function stateOf(network: EmbeddedNetwork, id: string): Promise<string> {
  const got = payload(await network.send({ kind: "promise.get", head: head(), data: { id } }));
  return got.promise.state;
}

/** A finished execution checkpointed into store.db, then one killed with its WAL unflushed. */
async function completedThenKilled(): Promise<void> {
  const writer = startStoreChild("complete", dir);
  await writer.next("done");
  expect((await writer.exited).code).toBe(0);
  const crashed = startStoreChild("crash", dir, path.join(dir, "counter"));
  await crashed.next("reached");
  await killHard(crashed);
  expect(fs.statSync(wal).size).toBeGreaterThan(0);
}

describe("embedded store: damage is refused, not opened partial", () => {
  it("store.db truncated to 0 bytes", async () => {
    const network = EmbeddedNetwork.open({ dir });
    payload(
      await network.send({
        kind: "promise.create",
        head: head(),
        data: { id: "kept", timeoutAt: Date.now() + 60_000, param: {}, tags: {} },
      }),
    );
    await network.close();
    const saved = fs.readFileSync(db);
    fs.truncateSync(db, 0);

    expectCorruptOpen(/is empty.*commits were lost/);

    fs.writeFileSync(db, saved);
    const repaired = EmbeddedNetwork.open({ dir });
    expect(await stateOf(repaired, "kept")).toBe("pending");
    await repaired.close();
  });

  it("the WAL deleted after a kill -9 of the writer", async () => {
    await completedThenKilled();
    const savedWal = fs.readFileSync(wal);
    fs.rmSync(wal);
    fs.rmSync(`${db}-shm`, { force: true });

    expectCorruptOpen(/holds \d+ commits, but generation records \d+ commits/);

    // Nothing was lost for good: with the WAL back, the killed execution resumes.
    fs.writeFileSync(wal, savedWal);
    const resumed = startStoreChild("resume", dir, path.join(dir, "counter"));
    expect((await resumed.next("done")).result).toBe("crash-one-two");
    expect((await resumed.exited).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, "counter"), "utf8")).toBe("x");
  });

  it("a byte flipped in the WAL", async () => {
    await completedThenKilled();
    const original = fs.readFileSync(wal);
    const damaged = Buffer.from(original);
    // Inside the frames (past the 32-byte header), well before the last commit.
    const at = 32 + Math.floor((damaged.length - 32) / 3);
    damaged[at] = (damaged[at] ?? 0) ^ 0xff;
    fs.writeFileSync(wal, damaged);

    expectCorruptOpen(/commits were lost/);

    fs.writeFileSync(wal, original);
    const repaired = EmbeddedNetwork.open({ dir });
    expect(await stateOf(repaired, "done-job")).toBe("resolved");
    expect(await stateOf(repaired, "crash-job")).toBe("pending");
    await repaired.close();
  });

  it("opens what SQLite recovers itself: a torn write after the last commit", async () => {
    await completedThenKilled();
    // A frame being appended when the process died: no commit marker, so SQLite
    // ignores it, and no acknowledged commit is missing.
    fs.appendFileSync(wal, Buffer.alloc(3000, 0xab));
    const network = EmbeddedNetwork.open({ dir });
    expect(await stateOf(network, "done-job")).toBe("resolved");
    expect(await stateOf(network, "crash-job")).toBe("pending");
    await network.close();
  });

  it("store.db replaced by another store's", async () => {
    const other = path.join(dir, "other");
    for (const each of [dir, other]) {
      const network = EmbeddedNetwork.open({ dir: each });
      await network.close();
    }
    fs.copyFileSync(path.join(other, "store.db"), db);
    expectCorruptOpen(/is store \w+, but generation belongs to store \w+/);
  });

  it("accepts the loss when the generation file is removed, as its message says", async () => {
    await completedThenKilled();
    fs.rmSync(wal);
    expectCorruptOpen(/remove .*generation to accept the loss/);
    fs.rmSync(path.join(dir, "generation"));
    const network = EmbeddedNetwork.open({ dir });
    expect(await stateOf(network, "done-job")).toBe("resolved");
    await network.close();
  });
});
