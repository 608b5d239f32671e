import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Message } from "@resonatehq/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

const HOUR = 3_600_000;

/** Collects delivered messages; `next()` resolves with the next one. */
function inbox() {
  const received: Message[] = [];
  let waiting: ((message: Message) => void) | undefined;
  return {
    received,
    deliver(message: Message) {
      received.push(message);
      waiting?.(message);
      waiting = undefined;
    },
    next(): Promise<Message> {
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
  };
}

describe("embedded store: recovery at open", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-recovery-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function createTask(network: EmbeddedNetwork, id: string, acquire: boolean) {
    const tags = { "resonate:target": network.anycast };
    const data = { id, timeoutAt: Date.now() + HOUR, param: {}, tags };
    if (acquire) {
      const created = await network.send({
        kind: "task.create",
        head: head(),
        data: {
          pid: "dead-process",
          ttl: 60_000,
          action: { kind: "promise.create", head: head(), data },
        },
      });
      return payload(created).task;
    }
    await network.send({ kind: "promise.create", head: head(), data });
    return undefined;
  }

  it("releases the dead owner's leases and re-dispatches pending tasks once a subscriber exists", async () => {
    const previous = EmbeddedNetwork.open({ dir });
    expect(await createTask(previous, "held", true)).toMatchObject({
      state: "acquired",
      version: 1,
    });
    // A pending task whose execute message nobody received before the "crash".
    await createTask(previous, "undelivered", false);
    await previous.close();

    const network = EmbeddedNetwork.open({ dir });
    const messages = inbox();
    try {
      expect(network.recovery).toEqual({
        releasedTasks: ["held"],
        redispatchedTasks: ["undelivered"],
      });
      const held = payload(
        await network.send({ kind: "task.get", head: head(), data: { id: "held" } }),
      );
      expect(held.task).toMatchObject({ state: "pending", version: 1 });
      expect(held.task.pid).toBeUndefined();

      network.recv(messages.deliver);
      const first = messages.next();
      await network.init();
      await first;
      expect(messages.received.map((m) => m.kind === "execute" && m.data.task)).toEqual([
        { id: "held", version: 1 },
        { id: "undelivered", version: 0 },
      ]);
      expect(network.stats().outgoing).toBe(0);

      // The released task can be acquired at once, by the new process, with its version.
      const acquired = await network.send({
        kind: "task.acquire",
        head: head(),
        data: { id: "held", version: 1, pid: "new-process", ttl: 60_000 },
      });
      expect(payload(acquired).task).toMatchObject({
        state: "acquired",
        version: 2,
        pid: "new-process",
      });
    } finally {
      await network.close();
    }
  });

  it("the release itself is durable: a crash right after open does not lose it", async () => {
    const previous = EmbeddedNetwork.open({ dir });
    await createTask(previous, "held", true);
    await previous.close();
    const afterCrash = EmbeddedNetwork.open({ dir });
    await afterCrash.close(); // never delivered anything
    const network = EmbeddedNetwork.open({ dir });
    try {
      // Already pending: re-dispatched, not released a second time.
      expect(network.recovery).toEqual({ releasedTasks: [], redispatchedTasks: ["held"] });
    } finally {
      await network.close();
    }
  });
});
