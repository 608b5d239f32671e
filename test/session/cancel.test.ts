import { describe, expect, it } from "vitest";
import { CancelledError, TimeoutError } from "../../src/errors.ts";
import { startSession } from "./helpers.ts";

/**
 * Cancels a cell once it reports (through input()) that it is running, so the cancel
 * reaches it mid-flight, not before it started: no timing guesses.
 */
function cancelWhenStarted(): { signal: AbortSignal; onInput: () => string } {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    onInput: () => {
      queueMicrotask(() => controller.abort());
      return "started";
    },
  };
}

describe("cancel", () => {
  it("interrupts an awaiting async cell and keeps what it did before", async () => {
    const session = await startSession();
    await session.execute("var counter = 0");
    const pid = session.pid;
    const controller = new AbortController();
    const pending = session.execute(
      "counter = 1; console.log('started'); await new Promise(() => {}); counter = 2",
      {
        signal: controller.signal,
        onOutput: () => controller.abort(),
      },
    );
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    // Same worker, and the namespace holds what the cell did before it was stopped.
    expect(session.pid).toBe(pid);
    expect((await session.execute("counter")).value).toBe(1);
  });

  it("cancels a cell the moment it prints without restarting the worker", async () => {
    // The cancel arrives while the worker may still be ending the cell's synchronous run,
    // when a process signal would be fatal: the worker must stop it by message instead.
    const session = await startSession();
    const pid = session.pid;
    for (let round = 0; round < 20; round++) {
      await session.execute("var counter = 0");
      const controller = new AbortController();
      const pending = session.execute(
        "counter = 1; console.log('started'); await new Promise(() => {})",
        { signal: controller.signal, onOutput: () => controller.abort() },
      );
      await expect(pending).rejects.toBeInstanceOf(CancelledError);
      expect((await session.execute("counter")).value).toBe(1);
    }
    expect(session.pid).toBe(pid);
  });

  it("interrupts a synchronous busy loop on the main thread and keeps the session", async () => {
    const session = await startSession();
    await session.execute("const earlier = 'kept'");
    const controller = new AbortController();
    const pending = session.execute(
      "globalThis.spins = 0; while (globalThis.spins >= 0) if (++globalThis.spins === 1000) console.log('spinning')",
      { mode: "simple_sync", signal: controller.signal, onOutput: () => controller.abort() },
    );
    // The loop is interrupted in place by the worker's service thread: same worker, and
    // the loop's progress (at least the 1,000 spins before it printed) is kept.
    const pid = session.pid;
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(session.pid).toBe(pid);
    expect((await session.execute("[earlier, spins >= 1000]")).value).toEqual(["kept", true]);
  });

  it("interrupts a blocking cell in place and keeps what it did, on the same worker", async () => {
    const session = await startSession();
    await session.execute("const kept = { n: 1 }; let untouched = 'yes'");
    const pid = session.pid;
    const cancel = cancelWhenStarted();
    const pending = session.execute(
      "kept.n = 99; untouched = 'no'; var created = 1; input('go'); while (true) {}",
      cancel,
    );
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(session.pid).toBe(pid);
    // Notebook semantics: what ran before the interrupt stays.
    const r = await session.execute("[kept.n, untouched, created]");
    expect(r.value).toEqual([99, "no", 1]);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const session = await startSession();
    const controller = new AbortController();
    controller.abort();
    await expect(session.execute("1", { signal: controller.signal })).rejects.toBeInstanceOf(
      CancelledError,
    );
    expect(session.state).toBe("READY");
  });
});

describe("timeout", () => {
  it("times out a synchronous cell on the main thread and keeps the session", async () => {
    const session = await startSession();
    await session.execute("let before = 'kept'");
    const pid = session.pid;
    const error = await session
      .execute("let k = 0; while (k >= 0) k++", { mode: "simple_sync", timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(session.pid).toBe(pid);
    expect((await session.execute("before")).value).toBe("kept");
  });

  it("times out an async cell that never settles", async () => {
    const session = await startSession();
    const error = await session
      .execute("await new Promise(() => {})", { timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "LIMIT_TIMEOUT" });
    expect((await session.execute("'alive'")).value).toBe("alive");
  });

  it("times out a blocking cell in place; what it did stays", async () => {
    const session = await startSession();
    await session.execute("let stays = 1");
    const pid = session.pid;
    const error = await session
      .execute("stays = 2; while (true) {}", { timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "LIMIT_TIMEOUT" });
    expect(session.pid).toBe(pid);
    expect((await session.execute("stays")).value).toBe(2);
  });

  it("restarts a worker that cannot stop on its own (a promise callback in a long native call)", async () => {
    // A promise callback spinning in JavaScript is stopped in place (stray-callback.test.ts);
    // one inside a native call no interrupt reaches is ended with its worker.
    const session = await startSession();
    await session.execute("const survivor = 'from the checkpoint'");
    const pid = session.pid;
    const error = await session
      .execute(
        "await Promise.resolve().then(() => require('node:crypto').pbkdf2Sync('a', 'b', 1e9, 64, 'sha512'))",
        { timeoutMs: 200 },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    const r = await session.execute("survivor");
    expect(session.pid).not.toBe(pid);
    expect(r.value).toBe("from the checkpoint");
  });
});

describe("liveness while a cell runs", () => {
  it("does not mistake a long cell on the worker's event loop for a dead worker", async () => {
    // Heartbeats every 50 ms with 50 ms of grace: an idle-silent worker would be declared
    // dead within 150 ms, yet this cell keeps the worker's event loop busy for 1.5 s.
    const session = await startSession({ heartbeatMs: 50, graceMs: 50 });
    const pid = session.pid;
    const r = await session.execute(
      "const until = Date.now() + 1500; while (Date.now() < until) {} 'finished'",
      {
        mode: "simple_sync",
      },
    );
    expect(r.value).toBe("finished");
    expect(session.pid).toBe(pid);
  });
});
