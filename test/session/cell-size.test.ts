/**
 * The host never parses unbounded input on its own loop: a cell over `limits.cellBytes`
 * is refused before anything reads it, and a large cell under the limit is prepared on a
 * parse thread while other sessions keep answering. Round trips of another session are
 * measured during each, as a bound on how long the host's event loop was held.
 */
import { afterAll, describe, expect, it } from "vitest";
import { CellSizeLimitError } from "../../src/errors.ts";
import { closeSharedParseThreads } from "../../src/prepare/off-loop.ts";
import type { Session } from "../../src/session/session.ts";
import { startSession } from "./helpers.ts";

afterAll(async () => {
  await closeSharedParseThreads();
});

/**
 * Runs `1+1` on `other` back to back until `work` settles and at least `minimum` round
 * trips are done; returns the outcome of `work` and each round trip's duration in ms.
 */
async function roundTripsDuring<T>(
  other: Session,
  start: () => Promise<T>,
  minimum: number,
): Promise<{ outcome: T | unknown; roundTrips: number[] }> {
  const roundTrips: number[] = [];
  const ping = async () => {
    const started = performance.now();
    const result = await other.execute("1+1");
    roundTrips.push(performance.now() - started);
    expect(result.value).toBe(2);
  };
  for (let i = 0; i < 3; i++) await ping(); // warm: the first cells of a worker are slower
  roundTrips.length = 0;
  let settled = false;
  const work = start().then(
    (value) => value,
    (error: unknown) => error,
  );
  void work.then(() => {
    settled = true;
  });
  while (!settled || roundTrips.length < minimum) await ping();
  return { outcome: await work, roundTrips };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

describe("cell size", () => {
  it("a 50 MB cell is refused with LIMIT_CELL_SIZE while another session keeps answering", async () => {
    const [big, other] = await Promise.all([startSession(), startSession()]);
    await big.execute("const kept = 'before'");
    // A cell that would change the namespace if any of it ran.
    const cell = `globalThis.ran = true;\n${"// padding\n".repeat(5_000_000)}`;
    expect(cell.length).toBeGreaterThan(50_000_000);
    const { outcome, roundTrips } = await roundTripsDuring(other, () => big.execute(cell), 20);
    expect(outcome).toBeInstanceOf(CellSizeLimitError);
    expect(outcome).toMatchObject({ code: "LIMIT_CELL_SIZE", limitBytes: 1024 * 1024 });
    // Refusing reads nothing: the other session is served as usual (0.3 ms when idle).
    expect(percentile(roundTrips, 90)).toBeLessThan(50);
    expect(Math.max(...roundTrips)).toBeLessThan(250);
    // Nothing ran, nothing was lost, and the session goes on.
    expect((await big.execute("typeof ran")).value).toBe("undefined");
    expect((await big.execute("kept")).value).toBe("before");
  });

  it("is configurable per session and counts UTF-8 bytes", async () => {
    const session = await startSession({ limits: { cellBytes: 64 } });
    const atLimit = `'${"é".repeat(31)}'`; // 2 quotes + 31 two-byte characters = 64 bytes
    expect((await session.execute(atLimit)).value).toBe("é".repeat(31));
    await expect(session.execute(`'${"é".repeat(32)}'`)).rejects.toMatchObject({
      code: "LIMIT_CELL_SIZE",
      bytes: 66,
      limitBytes: 64,
    });
    expect((await session.execute("6 * 7")).value).toBe(42);
  });

  it("a large cell just under the limit is prepared off the host's loop", async () => {
    const [big, other] = await Promise.all([startSession(), startSession()]);
    // ~1 MiB of statements: preparing it inline held the host's loop for seconds.
    const line = "total = total + 1;\n";
    const cell = `let total = 0;\n${line.repeat(Math.floor((1024 * 1024 - 64) / line.length))}total`;
    expect(cell.length).toBeLessThan(1024 * 1024);
    expect(cell.length).toBeGreaterThan(1000 * 1024);
    const { outcome, roundTrips } = await roundTripsDuring(
      other,
      () => big.execute(cell, { timeoutMs: 300_000 }),
      5,
    );
    expect(outcome).toMatchObject({ value: Math.floor((1024 * 1024 - 64) / line.length) });
    expect(percentile(roundTrips, 50)).toBeLessThan(50);
    expect(Math.max(...roundTrips)).toBeLessThan(400);
  });
});
