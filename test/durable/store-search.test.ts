// promise.search on the embedded store (the SDK's local Server answers 501): filters by
// tags and state, oldest first, paged by cursor; and it survives a reopen.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { head, payload } from "./store-requests.ts";

let dir: string;
let clock: number;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-store-search-"));
  clock = 1_000_000;
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function open(): EmbeddedNetwork {
  // An injected clock gives every promise a distinct creation time.
  return EmbeddedNetwork.open({ dir, now: () => clock++ });
}

async function create(network: EmbeddedNetwork, id: string, tags: Record<string, string>) {
  const data = { id, timeoutAt: clock + 60_000, param: { headers: {}, data: "" }, tags };
  payload(await network.send({ kind: "promise.create", head: head(), data }));
}

async function search(network: EmbeddedNetwork, data: Record<string, unknown>) {
  return payload(await network.send({ kind: "promise.search", head: head(), data }));
}

describe("embedded store: promise.search", () => {
  it("filters by every given tag and by state, oldest first", async () => {
    const network = open();
    try {
      await create(network, "a", { kind: "cell", session: "demo" });
      await create(network, "b", { kind: "cell", session: "other" });
      await create(network, "c", { kind: "cell", session: "demo" });
      await create(network, "d", { kind: "execution" });
      const settle = { id: "c", state: "resolved" as const, value: { headers: {}, data: "" } };
      payload(await network.send({ kind: "promise.settle", head: head(), data: settle }));

      const demo = await search(network, { tags: { kind: "cell", session: "demo" } });
      expect(demo.promises.map((p) => p.id)).toEqual(["a", "c"]);
      expect(demo.cursor).toBeUndefined();
      const pending = await search(network, { tags: { kind: "cell" }, state: "pending" });
      expect(pending.promises.map((p) => p.id)).toEqual(["a", "b"]);
    } finally {
      await network.close();
    }
  });

  it("pages with a cursor, and finds the same promises after a reopen", async () => {
    const first = open();
    for (let i = 0; i < 5; i++) await create(first, `p${i}`, { group: "g" });
    await first.close();
    const network = open();
    try {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await search(network, {
          tags: { group: "g" },
          limit: 2,
          ...(cursor === undefined ? {} : { cursor }),
        });
        expect(page.promises.length).toBeLessThanOrEqual(2);
        ids.push(...page.promises.map((p) => p.id));
        cursor = page.cursor;
      } while (cursor !== undefined);
      expect(ids).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    } finally {
      await network.close();
    }
  });

  it("answers 400 to a malformed cursor", async () => {
    const network = open();
    try {
      const res = await network.send({
        kind: "promise.search",
        head: head(),
        data: { cursor: "not-a-number" },
      });
      expect(res.head.status).toBe(400);
    } finally {
      await network.close();
    }
  });
});
