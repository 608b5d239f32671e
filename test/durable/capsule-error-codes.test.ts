// handle.result() rejects with the Capsule error class AND its stable code, both in the
// process that ran the execution and in a later one that reads the rejection back from
// the store (the SDK's codec keeps only an Error's name, message and stack).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { CheckpointError, ExecutionError, TimeoutError } from "../../src/errors.ts";

let root: string;
let capsule: Capsule;

function open(): Promise<Capsule> {
  return Capsule.open({ dir: path.join(root, "capsule"), pool: { minIdle: 0 } });
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-codes-"));
  capsule = await open();
});

afterEach(async () => {
  await capsule.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (reason: unknown) => reason,
  );
}

/** The rejection of `id` here, then after a close and a fresh open of the same store. */
async function rejectionNowAndAfterReopen(id: string): Promise<[unknown, unknown]> {
  const now = await rejectionOf((await capsule.get(id)).result());
  await capsule.close();
  capsule = await open();
  const later = await rejectionOf((await capsule.get(id)).result());
  return [now, later];
}

describe("error codes through handle.result()", () => {
  it("ExecutionError keeps its code, the user's error name and the position", async () => {
    const job = capsule.register("throws", async (ctx) => {
      await ctx.session("main").execute("let x = 1;\nnull.boom");
      return "unreachable";
    });
    const handle = await job.run("throws-1");
    const direct = await rejectionOf(handle.result());
    const [now, later] = await rejectionNowAndAfterReopen("throws-1");
    for (const error of [direct, now, later]) {
      expect(error).toBeInstanceOf(ExecutionError);
      expect(error).toMatchObject({ code: "EXECUTION_ERROR", errorName: "TypeError" });
      expect((error as ExecutionError).message).toMatch(/^TypeError: .*null/);
    }
  });

  it("a cell declaring a protected name keeps EXECUTION_PROTECTED_NAME", async () => {
    const job = capsule.register("protected", async (ctx) => {
      await ctx.session("main").execute("const input = 1");
    });
    const direct = await rejectionOf((await job.run("protected-1")).result());
    const [now, later] = await rejectionNowAndAfterReopen("protected-1");
    for (const error of [direct, now, later]) {
      expect(error).toBeInstanceOf(ExecutionError);
      expect(error).toMatchObject({ code: "EXECUTION_PROTECTED_NAME", errorName: "SyntaxError" });
    }
  });

  it("a SyntaxError cell keeps EXECUTION_SYNTAX_ERROR and its position", async () => {
    const job = capsule.register("syntax", async (ctx) => {
      await ctx.session("main").execute("1 +\n)");
    });
    const direct = await rejectionOf((await job.run("syntax-1")).result());
    const [now, later] = await rejectionNowAndAfterReopen("syntax-1");
    expect(direct).toBeInstanceOf(ExecutionError);
    const { line, column } = direct as ExecutionError;
    expect(line).toBeTypeOf("number");
    for (const error of [now, later]) {
      expect(error).toBeInstanceOf(ExecutionError);
      expect(error).toMatchObject({
        code: "EXECUTION_SYNTAX_ERROR",
        errorName: "SyntaxError",
        line,
        column,
      });
    }
  });

  it("TimeoutError keeps LIMIT_TIMEOUT", async () => {
    const job = capsule.register("slow", async (ctx) => {
      await ctx.session("main").execute("await new Promise(() => {})", { timeoutMs: 300 });
    });
    await (await job.run("slow-1")).result().catch(() => undefined);
    const [now, later] = await rejectionNowAndAfterReopen("slow-1");
    for (const error of [now, later]) {
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toMatchObject({ code: "LIMIT_TIMEOUT" });
    }
  });

  it("CheckpointError keeps which checkpoint failure it was", async () => {
    const job = capsule.register("checkpoint", async () => {
      throw new CheckpointError("CHECKPOINT_VERSION", "checkpoint of version 99");
    });
    await (await job.run("checkpoint-1")).result().catch(() => undefined);
    const [now, later] = await rejectionNowAndAfterReopen("checkpoint-1");
    for (const error of [now, later]) {
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error).toMatchObject({
        code: "CHECKPOINT_VERSION",
        message: "checkpoint of version 99",
      });
    }
  });

  it("an error that is not Capsule's comes back as the SDK gives it", async () => {
    const job = capsule.register("plain", async () => {
      throw new RangeError("out of range");
    });
    await (await job.run("plain-1")).result().catch(() => undefined);
    const [now, later] = await rejectionNowAndAfterReopen("plain-1");
    for (const error of [now, later]) {
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ name: "RangeError", message: "out of range" });
      expect(Reflect.get(error as object, "code")).toBeUndefined();
    }
  });
});
