// Store files Capsule did not write, or wrote in another version, are refused with a
// coded error and left as they were: putting the right file back opens everything.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-bad-input-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function writeOnePromise(): Promise<void> {
  const network = EmbeddedNetwork.open({ dir });
  try {
    await network.send({
      kind: "promise.create",
      head: head(),
      data: { id: "kept", timeoutAt: Date.now() + 60_000, param: {}, tags: {} },
    });
  } finally {
    await network.close();
  }
}

async function expectKeptPromise(): Promise<void> {
  const network = EmbeddedNetwork.open({ dir });
  try {
    const got = payload(
      await network.send({ kind: "promise.get", head: head(), data: { id: "kept" } }),
    );
    expect(got.promise.state).toBe("pending");
  } finally {
    await network.close();
  }
}

function setSchemaVersion(version: string): void {
  // The store is closed: no other descriptor of store.db is open in this process.
  const db = new DatabaseSync(path.join(dir, "store.db"));
  try {
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(version);
  } finally {
    db.close();
  }
}

describe("embedded store: files from elsewhere", () => {
  it("refuses a store of another schema version, naming both, and keeps its content", async () => {
    await writeOnePromise();
    setSchemaVersion("999");
    const before = fs.readFileSync(path.join(dir, "store.db"));
    expect(() => EmbeddedNetwork.open({ dir })).toThrow(
      expect.objectContaining({
        code: "STORE_CORRUPT",
        message: expect.stringMatching(/schema 999, expected 1/),
      }),
    );
    expect(fs.readFileSync(path.join(dir, "store.db")).equals(before)).toBe(true);
    setSchemaVersion("1");
    await expectKeptPromise();
  });

  it("refuses a generation file it cannot read, and opens once it is put right", async () => {
    await writeOnePromise();
    const sidecar = path.join(dir, "generation");
    const good = fs.readFileSync(sidecar);
    fs.writeFileSync(sidecar, "not a generation record\n");
    expect(() => EmbeddedNetwork.open({ dir })).toThrow(
      expect.objectContaining({
        code: "STORE_CORRUPT",
        message: expect.stringMatching(/malformed/),
      }),
    );
    fs.writeFileSync(sidecar, good);
    await expectKeptPromise();
  });

  it("reads a generation file written before durability levels (one count, fully claimed)", async () => {
    await writeOnePromise();
    const sidecar = path.join(dir, "generation");
    const [, storeId, count] = fs.readFileSync(sidecar, "utf8").split(" ");
    const v1 = (n: number) => `${`capsule-store-generation ${storeId} ${n}`.padEnd(63)}\n`;
    // More commits claimed than the database holds: lost commits, refused.
    fs.writeFileSync(sidecar, v1(Number(count) + 5));
    expect(() => EmbeddedNetwork.open({ dir })).toThrow(
      expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/lost/) }),
    );
    fs.writeFileSync(sidecar, v1(Number(count)));
    await expectKeptPromise();
  });

  it("opens a store written with whole-column state indexes, keeps it, and counts its commits", async () => {
    await writeOnePromise();
    // As the earlier schema left the file: the state of every row indexed.
    const db = new DatabaseSync(path.join(dir, "store.db"));
    let before: number;
    try {
      before = Number(db.prepare("SELECT value FROM meta WHERE key = 'generation'").get()?.value);
      db.exec("DROP INDEX promises_pending; DROP INDEX tasks_live");
      db.exec("CREATE INDEX promises_by_state ON promises (state)");
      db.exec("CREATE INDEX tasks_by_state ON tasks (state)");
    } finally {
      db.close();
    }
    const network = EmbeddedNetwork.open({ dir });
    let commits: number;
    try {
      const found = payload(
        await network.send({
          kind: "promise.search",
          head: head(),
          data: { state: "pending" },
        }),
      );
      expect(found.promises.map((promise) => promise.id)).toEqual(["kept"]);
    } finally {
      await network.close();
      commits = network.writeCounters().commits;
    }
    const reopened = new DatabaseSync(path.join(dir, "store.db"), { readOnly: true });
    try {
      const indexes = reopened
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%state%'")
        .all();
      expect(indexes).toEqual([]);
      // Each transaction counted itself: the row the generation check reads is updated in place.
      const after = Number(
        reopened.prepare("SELECT value FROM meta WHERE key = 'generation'").get()?.value,
      );
      expect(after).toBe(before + commits);
    } finally {
      reopened.close();
    }
  });
});
