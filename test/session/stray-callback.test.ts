/**
 * A callback a finished cell left behind that holds the worker's main thread without
 * yielding (`setTimeout(() => { while (true) {} })`) is stopped by the service thread,
 * in place: the next cell runs and gets its own result, is not blamed with a timeout,
 * the worker is not replaced, and the namespace stays. The user is told with a
 * `STRAY_CALLBACK_STOPPED` notice on stderr: in the waiting cell's output, or, with
 * nothing waiting, as output between cells once the callback outlasted the cell limit.
 * Every stray writes a line before it spins, and the test waits for that line; no sleeps.
 */
import { describe, expect, it } from "vitest";
import { TimeoutError } from "../../src/errors.ts";
import type { OutputChunk } from "../../src/session/options.ts";
import type { Session } from "../../src/session/session.ts";
import { collectOutput, startSession } from "./helpers.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

const NOTICE = "STRAY_CALLBACK_STOPPED";

/** Resolves with the first between-cells output chunk that contains `text`. */
function strayOutput(session: Session, text: string): Promise<OutputChunk> {
  return new Promise((resolve) => {
    const listener = (chunk: OutputChunk) => {
      if (!chunk.data.includes(text)) return;
      session.off("output", listener);
      resolve(chunk);
    };
    session.on("output", listener);
  });
}

function countRespawns(session: Session): { readonly count: number } {
  const counter = { count: 0 };
  session.on("respawn", () => counter.count++);
  return counter;
}

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`a stray callback holding the main thread (sandbox: ${sandbox})`, () => {
    it("is stopped so the next cell runs and gets its own result", async () => {
      // A cell limit the old behaviour (the next cell timed out) could not hide behind.
      const session = await startSession({ sandbox, limits: { timeoutMs: 20_000 } });
      const respawns = countRespawns(session);
      const spinning = strayOutput(session, "spinning");
      await session.execute(
        "let keep = 7; setTimeout(() => { console.log('spinning'); while (true) {} }, 0); 'armed'",
      );
      await spinning;
      const output = collectOutput();
      const result = await session.execute("1 + 1", { onOutput: output.onOutput });
      expect(result.value).toBe(2);
      expect(output.chunks).toHaveLength(1);
      expect(output.chunks[0]).toMatchObject({ stream: "stderr" });
      expect(output.text()).toContain(NOTICE);
      expect(output.text()).toContain("earlier cell");
      // Same worker, same namespace, and its timers still fire.
      expect((await session.execute("keep")).value).toBe(7);
      const timer = await session.execute(
        "await new Promise((resolve) => setTimeout(() => resolve('fired'), 5))",
      );
      expect(timer.value).toBe("fired");
      expect(respawns.count).toBe(0);
    });
  });
}

describe("a stray callback holding the main thread", () => {
  it.each([
    ["an interval", "setInterval(() => { console.log('spinning'); while (true) {} }, 5)"],
    [
      "a promise callback from a timer",
      "setTimeout(() => Promise.resolve().then(() => { console.log('spinning'); while (true) {} }), 0)",
    ],
    ["an immediate", "setImmediate(() => { console.log('spinning'); while (true) {} })"],
    [
      "a callback asleep in Atomics.wait",
      "setTimeout(() => { console.log('spinning'); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) }, 0)",
    ],
  ])("from %s is stopped, and the session goes on", async (_kind, stray) => {
    const session = await startSession({ limits: { timeoutMs: 20_000 } });
    const respawns = countRespawns(session);
    const spinning = strayOutput(session, "spinning");
    await session.execute(`var before = 'kept'; ${stray}; 'armed'`);
    await spinning;
    const output = collectOutput();
    expect((await session.execute("before", { onOutput: output.onOutput })).value).toBe("kept");
    expect(output.text()).toContain(NOTICE);
    // A stopped interval is not re-armed: the next cells are not held again.
    expect((await session.execute("[1, 2].map((n) => n * 2)")).value).toEqual([2, 4]);
    expect((await session.execute("'again'")).value).toBe("again");
    expect(respawns.count).toBe(0);
  });

  it("is stopped with nothing waiting once it outlasts the cell time limit", async () => {
    const session = await startSession({ limits: { timeoutMs: 1_000 } });
    const respawns = countRespawns(session);
    const spinning = strayOutput(session, "spinning");
    const stopped = strayOutput(session, NOTICE);
    await session.execute(
      "var count = 1; setTimeout(() => { console.log('spinning'); while (true) {} }, 0); 'armed'",
    );
    await spinning;
    const notice = await stopped;
    expect(notice).toMatchObject({ stream: "stderr" });
    expect(notice.data).toContain("cell time limit (1.0 s)");
    expect((await session.execute("count + 1")).value).toBe(2);
    expect(respawns.count).toBe(0);
  });

  it("that is a timed-out cell's own callback is stopped in place, keeping the namespace", async () => {
    // The host's kill waits long enough that only a worker that cannot stop the cell
    // (not a slow machine) would be restarted.
    const session = await startSession({ stopGraceMs: 30_000 });
    const respawns = countRespawns(session);
    const error = await session
      .execute("var progress = 'made'; await null; while (true) {}", { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    // Before, the host ended the worker and restarted it; now the worker itself stops it.
    expect((error as TimeoutError).message).not.toMatch(/restarted/);
    expect((await session.execute("progress")).value).toBe("made");
    expect(respawns.count).toBe(0);
  });
});
