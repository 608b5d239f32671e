/**
 * The worker's service thread stops a blocking cell wherever it is — spinning, asleep in
 * a synchronous `input()`, parked in `Atomics.wait` — without restarting the worker: the
 * namespace keeps what the cell did and the session goes on. Every cell signals that it
 * is in place (by output or by asking for input) before it is stopped; no timing guesses.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, TimeoutError } from "../../src/errors.ts";
import type { Session } from "../../src/session/session.ts";
import { startSession } from "./helpers.ts";

/** Counts worker restarts of a session from now on. */
function countRespawns(session: Session): { readonly count: number } {
  const counter = { count: 0 };
  session.on("respawn", () => counter.count++);
  return counter;
}

describe("service thread: cancel of a blocking cell", () => {
  it("interrupts a spinning loop in place and keeps its progress", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    await session.execute("const earlier = { kept: true }");
    const controller = new AbortController();
    const pending = session.execute(
      "var spins = 0; earlier.touched = 'yes'; while (true) if (++spins === 1000) console.log('spinning')",
      { mode: "blocking_sync", signal: controller.signal, onOutput: () => controller.abort() },
    );
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    const r = await session.execute("[earlier.kept, earlier.touched, spins >= 1000]");
    expect(r.value).toEqual([true, "yes", true]);
    expect(respawns.count).toBe(0);
  });

  it("wakes a cell asleep in a synchronous input()", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    const controller = new AbortController();
    const pending = session.execute("var before = 'ran'; const answer = input('name?'); 'never'", {
      mode: "blocking_sync",
      signal: controller.signal,
      // Never answered: the cancel has to wake the sleeping main thread.
      onInput: () => {
        controller.abort();
        return new Promise<string>(() => {});
      },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect((await session.execute("before")).value).toBe("ran");
    // The next synchronous input() works: no stale answer or state is left behind.
    const next = await session.execute("input('again?')", {
      mode: "blocking_sync",
      onInput: () => "fresh",
    });
    expect(next.value).toBe("fresh");
    expect(respawns.count).toBe(0);
  });

  it("wakes a cell parked in Atomics.wait", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    const controller = new AbortController();
    const pending = session.execute(
      "var parked = new Int32Array(new SharedArrayBuffer(4)); console.log('parking'); Atomics.wait(parked, 0, 0)",
      { signal: controller.signal, onOutput: () => controller.abort() },
    );
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledError);
    expect((await session.execute("parked.length")).value).toBe(1);
    expect(respawns.count).toBe(0);
  });

  it("stops many cancelled cells in a row without a single restart", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    for (let round = 0; round < 30; round++) {
      const controller = new AbortController();
      const pending = session.execute(`var round = ${round}; console.log('go'); while (true) {}`, {
        mode: "blocking_sync",
        signal: controller.signal,
        onOutput: () => controller.abort(),
      });
      await expect(pending).rejects.toBeInstanceOf(CancelledError);
      expect((await session.execute("round")).value).toBe(round);
    }
    expect(respawns.count).toBe(0);
  });
});

describe("service thread: timeout of a blocking cell", () => {
  it("interrupts a spinning cell at its deadline and keeps what it did", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    const error = await session
      .execute("var before = 'set'; var progress = 0; while (true) progress++", {
        mode: "blocking_sync",
        timeoutMs: 300,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/300 ms/);
    expect((await session.execute("[before, typeof progress]")).value).toEqual(["set", "number"]);
    expect(respawns.count).toBe(0);
  });

  it("times out a cell asleep in a synchronous input() nobody answers", async () => {
    const session = await startSession();
    const respawns = countRespawns(session);
    const error = await session
      .execute("input('anyone?')", {
        mode: "blocking_sync",
        timeoutMs: 300,
        onInput: () => new Promise<string>(() => {}),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((await session.execute("'still here'")).value).toBe("still here");
    expect(respawns.count).toBe(0);
  });
});

describe("service thread: the wire while the main thread is blocked", () => {
  it("keeps heartbeating, so a long blocking cell is not taken for a dead worker", async () => {
    // A worker silent for 100 ms + 2 × 1000 ms of grace is declared dead; this cell holds
    // the main thread for 3 s, so only the service thread's heartbeats keep it alive.
    const session = await startSession({ heartbeatMs: 100, graceMs: 1000 });
    const respawns = countRespawns(session);
    const r = await session.execute(
      "const until = Date.now() + 3000; while (Date.now() < until) {} 'done'",
      { mode: "blocking_sync" },
    );
    expect(r.value).toBe("done");
    expect(respawns.count).toBe(0);
  });

  it("streams output live while the cell still blocks", async () => {
    const session = await startSession();
    const controller = new AbortController();
    const seen: string[] = [];
    const pending = session.execute("console.log('first'); while (true) {}", {
      mode: "blocking_sync",
      signal: controller.signal,
      onOutput: (chunk) => {
        seen.push(chunk.data);
        controller.abort();
      },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    // The line arrived while the loop held the main thread (it was what triggered the cancel).
    expect(seen).toEqual(["first\n"]);
  });
});
