import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { SessionStateError, WorkerCrashedError } from "../../src/errors.ts";
import { processExists, startSession } from "./helpers.ts";

describe("crash recovery", () => {
  it("restores the namespace after the worker is killed between cells", async () => {
    const session = await startSession();
    await session.execute(
      "class Counter { constructor() { this.n = 0 } inc() { return ++this.n } }",
    );
    await session.execute(
      "const c = new Counter(); c.inc(); const shared = { c }; const alias = shared",
    );
    const pid = session.pid!;
    const exited = once(session, "worker-exit");
    process.kill(pid, "SIGKILL");
    await exited;
    // The next cell waits for the replacement worker, restored from the last checkpoint.
    const r = await session.execute(
      "[c.inc(), c instanceof Counter, alias === shared, alias.c === c]",
    );
    expect(r.value).toEqual([2, true, true, true]);
    expect(session.pid).not.toBe(pid);
    expect(processExists(pid)).toBe(false);
  });

  it("fails the running cell with WorkerCrashedError naming the cause, then goes on", async () => {
    const session = await startSession();
    await session.execute("let done = 'first cell'");
    const pid = session.pid!;
    const error = await session
      .execute("done = 'second cell'; console.log('running'); while (done) {}", {
        mode: "simple_sync",
        onOutput: () => process.kill(pid, "SIGKILL"),
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as WorkerCrashedError).message).toMatch(/killed by SIGKILL/);
    expect((error as WorkerCrashedError).retryable).toBe(true);
    // As of the last completed cell.
    expect((await session.execute("done")).value).toBe("first cell");
  });

  it("detects a hung idle worker by its missing heartbeats and replaces it", async () => {
    const session = await startSession({ heartbeatMs: 100, graceMs: 100 });
    await session.execute("const kept = 'yes'");
    const pid = session.pid!;
    const exited = once(session, "worker-exit");
    process.kill(pid, "SIGSTOP"); // alive but silent: only liveness can tell
    const [info] = (await exited) as [{ cause: string }];
    expect(info.cause).toMatch(/SIGKILL/);
    expect((await session.execute("kept")).value).toBe("yes");
    expect(session.pid).not.toBe(pid);
  });

  it("keeps, across a crash, what a failed cell did before it threw", async () => {
    const session = await startSession();
    await session.execute("let untouched = 1");
    await expect(
      session.execute("let partial = 5; untouched = 2; null.boom"),
    ).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
    });
    const exited = once(session, "worker-exit");
    process.kill(session.pid!, "SIGKILL");
    await exited;
    expect((await session.execute("[partial, untouched]")).value).toEqual([5, 2]);
  });

  it("survives process.exit() in user code", async () => {
    const session = await startSession();
    await session.execute("const before = [1, 2, 3]");
    const error = await session.execute("process.exit(3)").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as WorkerCrashedError).exitCode).toBe(3);
    expect((await session.execute("before")).value).toEqual([1, 2, 3]);
  });

  it("stops respawning after repeated crashes instead of looping", async () => {
    const session = await startSession({ maxRespawns: 2 });
    await session.execute("const x = 1");
    for (let i = 0; i < 2; i++) {
      await expect(session.execute("process.exit(1)")).rejects.toBeInstanceOf(WorkerCrashedError);
    }
    await expect(session.execute("process.exit(1)")).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(session.state).toBe("TERMINATED");
    const error = await session.execute("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStateError);
    expect((error as SessionStateError).message).toMatch(/crashed 3 times/);
  });
});

describe("checkpoint and restore across sessions", () => {
  it("moves a namespace into a fresh session, functions and classes included", async () => {
    const source = await startSession();
    await source.execute(`
      const rate = 2;
      function scale(x) { return x * rate }
      class Box { constructor(v) { this.v = v } get doubled() { return scale(this.v) } }
      const boxes = new Map([["a", new Box(1)], ["b", new Box(5)]]);
      const when = new Date(0);
      const big = 2n ** 70n;
      const bytes = new Uint8Array([1, 2, 3]);
      const cyclic = { name: "loop" }; cyclic.self = cyclic;
      import { join } from "node:path";
    `);
    const checkpoint = await source.checkpoint();
    expect(checkpoint.uncaptured).toEqual([]);

    const target = await startSession();
    const report = await target.restore(checkpoint);
    expect(report.failed).toEqual([]);
    expect(report.names).toEqual(expect.arrayContaining(["rate", "scale", "Box", "boxes", "join"]));
    const r = await target.execute(
      "[boxes.get('b').doubled, boxes.get('a') instanceof Box, when.getTime(), String(big), [...bytes], cyclic.self === cyclic, join('x', 'y')]",
    );
    expect(r.value).toEqual([10, true, 0, "1180591620717411303424", [1, 2, 3], true, "x/y"]);
  });

  it("lists what cannot be captured, by name and reason", async () => {
    const session = await startSession();
    await session.execute(`
      const timer = setInterval(() => {}, 1000); clearInterval(timer);
      const counter = (function* () { let n = 0; while (true) yield ++n })(); counter.next();
      const fine = 1;
    `);
    const checkpoint = await session.checkpoint();
    const names = checkpoint.uncaptured.map((entry) => entry.name).sort();
    expect(names).toEqual(["counter", "timer"]);
    expect(checkpoint.uncaptured.find((entry) => entry.name === "counter")?.reason).toMatch(
      /generator object/,
    );
  });

  it("bounds the size of a checkpoint", async () => {
    const session = await startSession({ limits: { checkpointBytes: 64 * 1024 } });
    await expect(session.checkpoint()).resolves.toBeDefined();
    await session.execute("const large = 'z'.repeat(200 * 1024)");
    await expect(session.checkpoint()).rejects.toMatchObject({ code: "CHECKPOINT_TOO_LARGE" });
  });
});
