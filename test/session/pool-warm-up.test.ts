// A pooled worker's idle warm-up (workers/warm-up.ts) runs the cell path and the codec on
// throwaway input: nothing of it may reach the namespace, the realm or a checkpoint.
import { afterEach, describe, expect, it } from "vitest";
import { SessionPool } from "../../src/session/pool.ts";

let pool: SessionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("a fresh worker's idle warm-up", () => {
  it("leaves the namespace empty, the realm's built-ins untouched and the first checkpoint the user's own", async () => {
    pool = new SessionPool({ minIdle: 2, maxSessions: 4, checkpoint: true });
    const session = await pool.acquire();
    // No name from the warm-up's sample (n, s, list, rows, at, m) exists in the realm.
    const seen = await session.execute(
      "[typeof n, typeof s, typeof list, typeof rows, typeof at, typeof m, typeof _, JSON.parse('[1]').length, new Map([[1, 2]]).get(1)]",
    );
    expect(seen.value).toEqual([
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      "undefined",
      expect.any(String),
      1,
      2,
    ]);
    await session.execute("const kept = { rows: [{ a: 1 }], at: new Date(5) }");
    const checkpoint = await session.checkpoint();
    // Restored elsewhere (another warmed worker): exactly the user's one name comes back.
    const other = await pool.acquire();
    const report = await other.restore(checkpoint);
    expect(report).toEqual({ names: ["kept"], failed: [] });
    expect((await other.execute("[kept.rows[0].a, kept.at.getTime()]")).value).toEqual([1, 5]);
    session.release();
    other.release();
  });
});
