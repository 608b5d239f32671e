import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { StoreLockedError } from "../../src/errors.ts";
import { killStoreChildren, startStoreChild } from "./child-process.ts";

describe("embedded store: one owner per directory", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-lock-"));
  });
  afterEach(async () => {
    await killStoreChildren();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function openError(): unknown {
    try {
      const network = EmbeddedNetwork.open({ dir });
      void network.close();
      return undefined;
    } catch (error) {
      return error;
    }
  }

  it("refuses a second open while the owner lives, naming its pid", async () => {
    const owner = startStoreChild("hold", dir);
    const opened = await owner.next("opened");

    const error = openError();
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ code: "STORE_LOCKED", ownerPid: opened.pid });
    expect(String((error as Error).message)).toContain(String(opened.pid));

    owner.process.stdin?.end();
    expect((await owner.exited).code).toBe(0);
    const network = EmbeddedNetwork.open({ dir });
    await network.close();
  });

  it("takes over the store of an owner killed with SIGKILL", async () => {
    const owner = startStoreChild("hold", dir);
    await owner.next("opened");
    owner.process.kill("SIGKILL");
    await owner.exited;
    // The owner file still names the dead process; the lock itself died with it.
    expect(fs.readFileSync(path.join(dir, "owner"), "utf8")).toBe(String(owner.process.pid));

    const network = EmbeddedNetwork.open({ dir });
    expect(fs.readFileSync(path.join(dir, "owner"), "utf8")).toBe(String(process.pid));
    await network.close();
    expect(fs.existsSync(path.join(dir, "owner"))).toBe(false);
  });

  it("refuses a second open in the same process and allows it after close", async () => {
    const first = EmbeddedNetwork.open({ dir });
    expect(openError()).toMatchObject({ code: "STORE_LOCKED", ownerPid: process.pid });
    await first.close();
    const second = EmbeddedNetwork.open({ dir });
    await second.close();
  });

  it("lets exactly one of several racing processes take over a dead owner's store", async () => {
    const dead = startStoreChild("hold", dir);
    await dead.next("opened");
    dead.process.kill("SIGKILL");
    await dead.exited;

    const racers = [0, 1, 2].map(() => startStoreChild("hold", dir));
    const outcomes = await Promise.all(
      racers.map((racer) =>
        Promise.race([racer.next("opened"), racer.next("locked")]).then((report) => ({
          pid: racer.process.pid,
          event: report.event,
          ownerPid: report.ownerPid,
        })),
      ),
    );
    const owners = outcomes.filter((outcome) => outcome.event === "opened");
    expect(owners).toHaveLength(1);
    const losers = outcomes.filter((outcome) => outcome.event === "locked");
    expect(losers.map((loser) => loser.ownerPid)).toEqual([owners[0]?.pid, owners[0]?.pid]);
  });
});
