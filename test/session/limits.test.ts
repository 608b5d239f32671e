import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { MemoryLimitError, ResourceLimitError } from "../../src/errors.ts";
import { startSession } from "./helpers.ts";

describe("limits", () => {
  it("stops a cell over the heap limit with MemoryLimitError; the session comes back with its namespace", async () => {
    const session = await startSession({ limits: { memoryMb: 128 } });
    await session.execute("const before = 'survives'");
    const pid = session.pid;
    const error = await session
      .execute("const hog = []; for (let i = 0; i < 1e9; i++) hog.push('x'.repeat(64) + i)", {
        mode: "simple_sync",
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect((await session.execute("before")).value).toBe("survives");
    expect(session.pid).not.toBe(pid);
  });

  it("stops a blocking cell over the heap limit; the namespace is as before the cell", async () => {
    const session = await startSession({ limits: { memoryMb: 128 } });
    await session.execute("const kept = 1");
    const error = await session
      .execute("kept = 2; const hog = []; while (true) hog.push('y'.repeat(64) + hog.length)")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect((await session.execute("[kept, typeof hog]")).value).toEqual([1, "undefined"]);
  });

  it("ends a worker whose resident memory (off-heap buffers) passes the limit", async () => {
    const session = await startSession({ limits: { memoryMb: 200 } });
    await session.execute("const note = 'restored'");
    const error = await session
      .execute(
        "const big = []; for (let i = 0; i < 40; i++) big.push(Buffer.alloc(64 * 1024 * 1024, 1))",
        {
          mode: "simple_sync",
        },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemoryLimitError);
    expect((error as Error).message).toMatch(/resident memory/);
    expect((await session.execute("note")).value).toBe("restored");
  });

  it("ends a worker whose memory grows past the limit between cells, in a callback a cell left behind", async () => {
    const session = await startSession({ limits: { memoryMb: 200 } });
    await session.execute("const note = 'restored'");
    const exited = once(session, "worker-exit");
    // The cell leaves a signal handler behind; once the cell has answered, the signal
    // starts a timer that allocates while no cell runs.
    await session.execute(
      "const grow = []; process.once('SIGUSR2', () => setInterval(() => grow.push(Buffer.alloc(16 * 1024 * 1024, 1)), 10)); 'armed'",
    );
    process.kill(session.pid!, "SIGUSR2");
    const [info] = await exited;
    expect(info.error).toBeInstanceOf(MemoryLimitError);
    expect(info.cause).toMatch(/resident memory/);
    // Back from the checkpoint after that cell: `grow` as the cell left it, no timer.
    expect((await session.execute("[note, grow.length]")).value).toEqual(["restored", 0]);
  });

  it("limits open file descriptors; the session is replaced and keeps its namespace", async () => {
    const session = await startSession({ limits: { maxFds: 64 } });
    await session.execute("const stays = 'here'");
    const error = await session
      .execute(
        "const fs = require('node:fs'); const fds = []; for (let i = 0; i < 200; i++) fds.push(fs.openSync('.', 'r'))",
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResourceLimitError);
    expect((error as Error).message).toMatch(/EMFILE/);
    expect((await session.execute("stays")).value).toBe("here");
  });
});
