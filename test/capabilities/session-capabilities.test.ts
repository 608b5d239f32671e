/**
 * Capabilities on a plain session: host functions a cell calls as `await name(...args)`,
 * over the real protocol to a real worker process.
 */
import { describe, expect, it } from "vitest";
import { CancelledError, CapabilityError, ExecutionError, TimeoutError } from "../../src/errors.ts";
import { SessionPool } from "../../src/session/pool.ts";
import { collectOutput, startSession } from "../session/helpers.ts";

describe("capabilities", () => {
  it("runs the host function with the cell's arguments and returns its result", async () => {
    const calls: unknown[][] = [];
    const session = await startSession({
      capabilities: {
        notify: async (to: string, body: { text: string; n: number[] }) => {
          calls.push([to, body]);
          return { sent: true, id: 7, at: new Date(0), bytes: new Uint8Array([1, 2]) };
        },
      },
    });
    const result = await session.execute(
      "const r = await notify('ops', { text: 'hi', n: [1, 2] }); " +
        "[r.sent, r.id, r.at instanceof Date, r.bytes instanceof Uint8Array, r instanceof Object, Array.isArray(r.list ?? [])]",
    );
    expect(calls).toEqual([["ops", { text: "hi", n: [1, 2] }]]);
    expect(result.value).toEqual([true, 7, true, true, true, true]);
  });

  it("gives the cell the host error's message and code, never the host's stack", async () => {
    const session = await startSession({
      capabilities: {
        charge: async () => {
          throw Object.assign(new Error("card declined"), { code: "CARD_DECLINED" });
        },
        plain: async () => {
          throw new Error("boom");
        },
      },
    });
    const result = await session.execute(
      "const seen = []; for (const f of [charge, plain]) { try { await f() } catch (e) { seen.push([e instanceof Error, e.name, e.message, e.code, e.stack.includes('session-capabilities')]) } } seen",
    );
    expect(result.value).toEqual([
      [true, "CapabilityError", "card declined", "CARD_DECLINED", false],
      [true, "CapabilityError", "boom", "CAPABILITY_FAILED", false],
    ]);
  });

  it("refuses a function or class instance in the arguments inside the cell, before the host sees it", async () => {
    let called = 0;
    const session = await startSession({
      capabilities: {
        send: async () => {
          called++;
        },
      },
    });
    const result = await session.execute(
      "class Mail {}; const codes = []; for (const arg of [() => 1, new Mail(), new Map()]) { try { await send({ arg }) } catch (e) { codes.push(e.code + ': ' + e.message) } } codes",
    );
    expect(result.value).toEqual([
      "CAPABILITY_BAD_ARGUMENT: send(): args[0].arg is a function; only data can be passed",
      expect.stringMatching(
        /^CAPABILITY_BAD_ARGUMENT: send\(\): args\[0\]\.arg is an instance of Mail/,
      ),
      expect.stringMatching(
        /^CAPABILITY_BAD_ARGUMENT: send\(\): args\[0\]\.arg is an instance of Map/,
      ),
    ]);
    expect(called).toBe(0);
  });

  it("reports a result that is not data as the cell's error", async () => {
    const session = await startSession({
      capabilities: { leak: async () => new (class Secret {})() },
    });
    await expect(session.execute("await leak()")).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
      message: expect.stringContaining("is an instance of Secret"),
    });
  });

  it("protects capability names like input: a cell cannot declare or assign one", async () => {
    const session = await startSession({ capabilities: { notify: async () => 1 } });
    await expect(session.execute("const notify = 2")).rejects.toMatchObject({
      code: "EXECUTION_PROTECTED_NAME",
    });
    await expect(session.execute("notify = 2")).rejects.toBeInstanceOf(ExecutionError);
    expect((await session.execute("await notify()")).value).toBe(1);
  });

  it("overrides per execute, and a name not granted to this execution is refused", async () => {
    const session = await startSession({ capabilities: { who: async () => "session" } });
    const over = await session.execute("await who()", {
      capabilities: { who: async () => "execute", extra: async (x: number) => x * 2 },
    });
    expect(over.value).toBe("execute");
    expect((await session.execute("await who()")).value).toBe("session");
    // `extra` was granted to one execution only: it stays defined (and protected), but refuses.
    const later = await session.execute(
      "let why; try { await extra(1) } catch (e) { why = e.code + ': ' + e.message }; why",
    );
    expect(later.value).toBe(
      "CAPABILITY_UNKNOWN: capability extra is not granted to this execution",
    );
  });

  it("refuses a bad capability name with a coded error", () => {
    expect(() => new SessionPool({ minIdle: 0, capabilities: { input: async () => 1 } })).toThrow(
      CapabilityError,
    );
    expect(
      () => new SessionPool({ minIdle: 0, capabilities: { "not-a-name": async () => 1 } }),
    ).toThrow(expect.objectContaining({ code: "CAPABILITY_INVALID_NAME" }));
  });

  it("streams output while a call is pending, and cancel rejects the pending call", async () => {
    let release: (() => void) | undefined;
    const session = await startSession({
      capabilities: { slow: () => new Promise<void>((resolve) => (release = resolve)) },
    });
    const controller = new AbortController();
    const output = collectOutput();
    const pending = session.execute("console.log('before'); await slow(); console.log('after')", {
      signal: controller.signal,
      onOutput: (chunk) => {
        output.onOutput(chunk);
        controller.abort();
      },
    });
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(output.text()).toBe("before\n");
    release?.();
    // The session is usable at once and the late answer lands nowhere.
    expect((await session.execute("1 + 1")).value).toBe(2);
  });

  it("a timeout ends a cell waiting on a call", async () => {
    const session = await startSession({
      capabilities: { never: () => new Promise(() => {}) },
    });
    await expect(session.execute("await never()", { timeoutMs: 300 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    expect((await session.execute("'alive'")).value).toBe("alive");
  });
});
