// The store's outbox (`persistMessages`, what `capsule serve` runs): a message stays a
// row until its subscriber says it was delivered, the next open hands out what was not,
// in commit order, and gc and debug.reset take the rows of what they remove. The kill -9
// of a real serve process is in serve-messages.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Message } from "@resonatehq/sdk";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";

const HOUR = 3_600_000;
let dir: string;
let clock: number;
let corr = 0;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-outbox-"));
  clock = 1_000_000;
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): EmbeddedNetwork {
  return EmbeddedNetwork.open({
    dir,
    persistMessages: true,
    keepLeasesAlive: false,
    leasesOnOpen: "keep",
    tickIntervalMs: HOUR,
    now: () => clock,
  });
}

const head = () => ({ corrId: `o${++corr}`, version: "2026-04-01" });

/** Settles a new global promise with a listener at `address`: one `unblock` for it. */
async function unblock(network: EmbeddedNetwork, id: string, address: string): Promise<void> {
  const tags = { "resonate:scope": "global" };
  const param = { headers: {}, data: "" };
  await network.send({
    kind: "promise.create",
    head: head(),
    data: { id, timeoutAt: clock + HOUR, param, tags },
  });
  await network.send({
    kind: "promise.register_listener",
    head: head(),
    data: { awaited: id, address },
  });
  await network.send({
    kind: "promise.settle",
    head: head(),
    data: { id, state: "resolved", value: param },
  });
}

/** Subscribes; `take(n)` resolves with the next n messages, acknowledging those `deliver` names. */
function subscribe(network: EmbeddedNetwork, deliver: (id: string) => boolean) {
  const received: string[] = [];
  let wake: (() => void) | undefined;
  network.recv((message: Message, _address: string, delivered: () => void) => {
    const id = message.kind === "unblock" ? message.data.promise.id : message.data.task.id;
    received.push(id);
    if (deliver(id)) delivered();
    wake?.();
  });
  return async (count: number): Promise<string[]> => {
    while (received.length < count) await new Promise<void>((resolve) => (wake = resolve));
    return received.splice(0, count);
  };
}

describe("the store's outbox", () => {
  it("keeps a message until it is delivered, and hands out the rest after a reopen in order", async () => {
    const first = open();
    const take = subscribe(first, (id) => id === "delivered");
    await first.init();
    await unblock(first, "kept-1", "poll://uni@g/a");
    await unblock(first, "delivered", "poll://uni@g/a");
    await unblock(first, "kept-2", "poll://uni@g/b");
    expect(await take(3)).toEqual(["kept-1", "delivered", "kept-2"]);
    expect(first.stats().outgoing).toBe(2);
    await first.close();

    const second = open();
    try {
      const again = subscribe(second, () => true);
      await second.init();
      expect(await again(2)).toEqual(["kept-1", "kept-2"]);
      expect(second.stats().outgoing).toBe(0);
    } finally {
      await second.close();
    }
  });

  it("gc removes the undelivered messages of the promises it collects; debug.reset all", async () => {
    const network = open();
    try {
      const take = subscribe(network, () => false);
      await network.init();
      await unblock(network, "old", "poll://uni@g/gone");
      clock += HOUR;
      await unblock(network, "recent", "poll://uni@g/gone");
      expect(await take(2)).toEqual(["old", "recent"]);
      expect(network.stats().outgoing).toBe(2);
      expect(network.gc({ olderThanMs: HOUR / 2 }).roots).toBe(1);
      expect(network.stats().outgoing).toBe(1);
      await network.send({ kind: "debug.reset", head: head(), data: {} });
      expect(network.stats().outgoing).toBe(0);
    } finally {
      await network.close();
    }
  });
});
