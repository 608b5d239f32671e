import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork, STORE_FATAL_EXIT_CODE } from "../../durable/store/index.ts";
import { StoreError } from "../../src/errors.ts";
import { killStoreChildren, startStoreChild } from "./child-process.ts";
import { head } from "./store-requests.ts";

function bigPromise(i: number) {
  return {
    kind: "promise.create" as const,
    head: head(),
    data: {
      id: `big-${i}`,
      timeoutAt: Date.now() + 60_000,
      param: { data: "x".repeat(8192) },
      tags: {},
    },
  };
}

describe("embedded store: a failed write is fatal", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-fail-"));
  });
  afterEach(async () => {
    await killStoreChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("calls onFatal, never acknowledges the failed request, and refuses further work", async () => {
    const fatal: StoreError[] = [];
    const network = EmbeddedNetwork.open({
      dir,
      maxSizeBytes: 128 * 1024,
      onFatal: (error) => fatal.push(error),
    });
    let acknowledged = 0;
    let failure: unknown;
    try {
      for (let i = 0; i < 100; i++) {
        await network.send(bigPromise(i));
        acknowledged += 1;
      }
    } catch (error) {
      failure = error;
    }
    expect(acknowledged).toBeGreaterThan(0);
    expect(failure).toBeInstanceOf(StoreError);
    expect(failure).toMatchObject({ code: "STORE_WRITE_FAILED" });
    expect(fatal).toEqual([failure]);
    expect(String((failure as StoreError).cause)).toMatch(/full/);

    await expect(network.send(bigPromise(1000))).rejects.toBe(failure);
    network.tick();
    expect(fatal).toHaveLength(1);
    await network.close();

    // The file holds exactly what was acknowledged: the failed transaction rolled back.
    const reopened = EmbeddedNetwork.open({ dir });
    expect(reopened.stats().promises).toBe(acknowledged);
    await reopened.close();
  });

  it("by default prints the error and exits the process with status 70", async () => {
    const child = startStoreChild("overflow", dir);
    await child.next("written");
    const { code } = await child.exited;
    expect(code).toBe(STORE_FATAL_EXIT_CODE);
    expect(child.stderr()).toContain("STORE_WRITE_FAILED");
  });

  it("refuses a file with a corrupt row with STORE_CORRUPT and leaves it unlocked", async () => {
    const network = EmbeddedNetwork.open({ dir });
    await network.send(bigPromise(1));
    await network.close();
    const raw = new DatabaseSync(path.join(dir, "store.db"));
    raw.prepare("UPDATE promises SET body = ? WHERE id = ?").run("{not json", "big-1");
    raw.close();

    for (let attempt = 0; attempt < 2; attempt++) {
      expect(() => EmbeddedNetwork.open({ dir })).toThrow(
        expect.objectContaining({
          code: "STORE_CORRUPT",
          message: expect.stringContaining("big-1"),
        }),
      );
    }
  });
});
