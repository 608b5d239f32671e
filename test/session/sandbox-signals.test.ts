/**
 * A cell cannot reach its host or a sibling session with a signal. With namespaces the
 * pid namespace hides them (tested with the in-worker guard switched off by granting
 * child processes); without, the guard on `process.kill` is what stands in the way —
 * and a granted child process could still signal (the durable poison-cell limit is the
 * answer there, see the README's security section).
 */
import { describe, expect, it } from "vitest";
import { processExists, startSession } from "./helpers.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

const denied = {
  code: "EXECUTION_ERROR",
  message: expect.stringContaining("a cell may signal only its own worker"),
};

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`signals (sandbox: ${sandbox})`, () => {
    it("denies signalling the host, a sibling and every process (kill -1)", async () => {
      const [session, sibling] = await Promise.all([
        startSession({ sandbox }),
        startSession({ sandbox }),
      ]);
      const siblingPid = sibling.pid!;
      await expect(session.execute("process.kill(process.ppid)")).rejects.toMatchObject(denied);
      await expect(session.execute(`process.kill(${process.pid})`)).rejects.toMatchObject(denied);
      await expect(session.execute(`process.kill(${siblingPid}, 'SIGKILL')`)).rejects.toMatchObject(
        denied,
      );
      await expect(session.execute("process.kill(-1, 0)")).rejects.toMatchObject(denied);
      // Its own pid stays its own to signal (signal 0: is it there).
      expect((await session.execute("process.kill(process.pid, 0)")).value).toBe(true);
      expect(processExists(siblingPid)).toBe(true);
      expect((await sibling.execute("1 + 1")).value).toBe(2);
      expect((await session.execute("'still here'")).value).toBe("still here");
    });
  });
}

const namespaces = SANDBOX_MODES.find((mode) => mode.sandbox === "namespaces")!;
describe.skipIf(namespaces.skip)("signals in a pid namespace, without the in-worker guard", () => {
  it("cannot see the host or a sibling, and kill(-1, 0) reaches no one", async () => {
    // Granting child processes switches the process.kill guard off: only the namespace is left.
    const options = { sandbox: "namespaces" as const, permissions: { childProcess: true } };
    const [session, sibling] = await Promise.all([startSession(options), startSession(options)]);
    const siblingPid = sibling.pid!;
    const errno = (cell: string) =>
      session.execute(
        `(() => { try { ${cell}; return 'reached' } catch (error) { return error.code } })()`,
      );
    expect((await errno(`process.kill(${process.pid}, 0)`)).value).toBe("ESRCH");
    expect((await errno(`process.kill(${siblingPid}, 'SIGKILL')`)).value).toBe("ESRCH");
    expect((await errno("process.kill(-1, 0)")).value).toBe("ESRCH");
    // Its parent is the namespace's init, not the host, and init ignores the kill.
    expect((await session.execute("process.ppid")).value).toBe(1);
    await session.execute("process.kill(process.ppid, 'SIGKILL')");
    expect((await session.execute("'still here'")).value).toBe("still here");
    expect((await sibling.execute("1 + 1")).value).toBe(2);
  });
});
