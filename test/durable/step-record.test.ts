// What a durable execute step records of the checkpoint: only what its cell added to the
// session's chain, so records stay small while the namespace is large, and the chain
// rebuilt from the records restores the same namespace in a fresh worker.
import { describe, expect, it } from "vitest";
import { applyDelta, checkpointDelta, type RecordedCheckpoint } from "../../durable/step-record.ts";
import type { SessionCheckpoint } from "../../src/session/index.ts";
import { startSession } from "../session/helpers.ts";

function recordedBytes(delta: RecordedCheckpoint): number {
  return delta.links.reduce((total, link) => total + Buffer.from(link, "base64").byteLength, 0);
}

describe("checkpoint deltas of step records", () => {
  it("records what each cell added, not the whole namespace, and rebuilds it exactly", async () => {
    const session = await startSession();
    const deltas: RecordedCheckpoint[] = [];
    const run = async (code: string) => {
      const before = session.lastCheckpoint();
      await session.execute(code);
      const delta = checkpointDelta(before, session.lastCheckpoint());
      if (delta !== undefined) deltas.push(delta);
    };
    await run("const big = 'x'.repeat(200_000); let count = 0");
    for (let i = 0; i < 10; i++) await run("count += 1");

    expect(deltas[0]?.rebase).toBe(true);
    expect(recordedBytes(deltas[0]!)).toBeGreaterThan(200_000);
    const later = deltas.slice(1);
    expect(later.every((delta) => !delta.rebase)).toBe(true);
    // Ten records together hold a few hundred bytes, where whole chains would be 2 MB.
    expect(later.reduce((total, delta) => total + recordedBytes(delta), 0)).toBeLessThan(20_000);

    let rebuilt: SessionCheckpoint | undefined;
    for (const delta of deltas) rebuilt = applyDelta(rebuilt, delta);
    const fresh = await startSession();
    await fresh.restore(rebuilt!);
    expect((await fresh.execute("[big.length, count]")).value).toEqual([200_000, 10]);
  });

  it("rebases when the chain starts over (a full checkpoint)", async () => {
    const session = await startSession();
    await session.execute("let a = 1");
    const before = session.lastCheckpoint();
    await session.checkpoint(); // full: the chain starts over
    const delta = checkpointDelta(before, session.lastCheckpoint());
    expect(delta?.rebase).toBe(true);
    expect(applyDelta(undefined, delta!).chain).toHaveLength(1);
  });

  it("refuses an extension whose start is not in the record", () => {
    const orphan: RecordedCheckpoint = {
      rebase: false,
      links: ["AAAA"],
      version: 1,
      uncaptured: [],
    };
    expect(() => applyDelta(undefined, orphan)).toThrow(/STORE_CORRUPT|start is not in the record/);
  });
});
