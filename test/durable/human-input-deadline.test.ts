// With inputPausesLimit (always on in durable executes) the time limit of an execution is
// the cell's own time: waiting for an input() answer does not count, so a durable
// question may wait far longer than timeoutMs. Without it, the wait counts (see
// test/session/service-thread.test.ts). The waits
// below are made longer than the limit on purpose (a slow machine only makes them longer).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { TimeoutError } from "../../src/errors.ts";
import { startSession } from "../session/helpers.ts";

const LIMIT_MS = 400;
const roots: string[] = [];

afterEach(() => {
  for (const root of roots.splice(0)) fs.rmSync(root, { recursive: true, force: true });
});

function later<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

describe("with inputPausesLimit, waiting for input() does not count against timeoutMs", () => {
  it("an answer three limits late still lets the cell finish; its own time is still limited", async () => {
    const session = await startSession();
    const answered = await session.execute('"got " + await input("slow human?")', {
      timeoutMs: LIMIT_MS,
      inputPausesLimit: true,
      onInput: () => later(3 * LIMIT_MS, "yes"),
    });
    expect(answered.value).toBe("got yes");
    // After the answer the clock runs again: a cell that spins past the limit is stopped.
    await expect(
      session.execute('await input("go?"); while (true) {}', {
        timeoutMs: LIMIT_MS,
        inputPausesLimit: true,
        onInput: () => "go",
      }),
    ).rejects.toBeInstanceOf(TimeoutError);
  });

  it("a blocking cell's synchronous input() waits without timing out too", async () => {
    const session = await startSession();
    const result = await session.execute('const a = input("sync?"); "sync " + a', {
      mode: "blocking_sync",
      timeoutMs: LIMIT_MS,
      inputPausesLimit: true,
      onInput: () => later(3 * LIMIT_MS, "ok"),
    });
    expect(result.value).toBe("sync ok");
  });

  it("a durable question answered with capsule.answer long after the cell's limit", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-input-deadline-"));
    roots.push(root);
    const capsule = await Capsule.open({ dir: root, pool: { minIdle: 0 } });
    try {
      const job = capsule.register("patient", async (ctx) => {
        const result = await ctx
          .session("main")
          .execute('"approved by " + await input("who approves?")', { timeoutMs: LIMIT_MS });
        return result.value;
      });
      const handle = await job.run("patient-1");
      let question = (await capsule.inputs())[0];
      while (question === undefined) {
        await later(20, undefined);
        question = (await capsule.inputs())[0];
      }
      await later(3 * LIMIT_MS, undefined);
      await capsule.answer(question.id, "ops");
      expect(await handle.result()).toBe("approved by ops");
    } finally {
      await capsule.close();
    }
  });
});
