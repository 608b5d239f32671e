// With `durability: "process"` the store checkpoints its WAL itself, once it holds about
// 4 MiB: the file stays that size however much is written (the disk a store takes, and
// what a power loss could drop), the checkpoints come about once per 4 MiB written (not
// once every few commits), and what was written survives a reopen.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

const LIMIT = 4 * 1024 * 1024;
const PROMISES = 200;
/** A param of ~64 KiB: each commit writes ~66 pages of 1 KiB to the WAL. */
const DATA = Buffer.alloc(48 * 1024, 7).toString("base64");

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-wal-bound-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function create(network: EmbeddedNetwork, id: string) {
  return network.send({
    kind: "promise.create",
    head: head(),
    data: { id, timeoutAt: Date.now() + 600_000, param: { headers: {}, data: DATA }, tags: {} },
  });
}

describe("embedded store: the WAL's size", () => {
  it("stays near 4 MiB while ~13 MiB are committed, checkpointed about once per 4 MiB", async () => {
    const wal = path.join(dir, "store.db-wal");
    const network = EmbeddedNetwork.open({ dir, durability: "process" });
    let largest = 0;
    let checkpoints: number;
    try {
      for (let i = 0; i < PROMISES; i++) {
        payload(await create(network, `p-${i}`));
        largest = Math.max(largest, fs.statSync(wal, { throwIfNoEntry: false })?.size ?? 0);
      }
      checkpoints = network.writeCounters().checkpoints;
    } finally {
      await network.close();
    }
    const written = PROMISES * DATA.length;
    // Over the limit by at most the commits between two looks at the size (16) and the
    // commit that crossed it.
    expect(largest).toBeLessThan(LIMIT + 17 * 80 * 1024);
    expect(largest).toBeGreaterThan(LIMIT / 2);
    expect(checkpoints).toBeGreaterThanOrEqual(2);
    expect(checkpoints).toBeLessThanOrEqual(Math.ceil(written / (LIMIT / 2)));

    const reopened = EmbeddedNetwork.open({ dir });
    try {
      for (const id of ["p-0", `p-${PROMISES - 1}`]) {
        const got = payload(
          await reopened.send({ kind: "promise.get", head: head(), data: { id } }),
        );
        expect(got.promise.param.data).toBe(DATA);
      }
    } finally {
      await reopened.close();
    }
  });
});
