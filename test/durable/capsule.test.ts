// Capsule in one process: the contract example, idempotent ids, recorded user errors,
// crashed workers retried on a restored worker, sessions released, option validation.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { ExecutionError } from "../../src/errors.ts";

let root: string;
let sideDir: string;
let capsule: Capsule;

function counter(name: string): string {
  return path.join(sideDir, name);
}
function runs(name: string): number {
  return fs.existsSync(counter(name)) ? fs.readFileSync(counter(name), "utf8").length : 0;
}
/** Cell code that counts its runs in a file, then evaluates `body`. */
function counted(name: string, body: string): string {
  return `require("node:fs").appendFileSync(${JSON.stringify(counter(name))}, "x"); ${body}`;
}

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-unit-"));
  sideDir = path.join(root, "side");
  fs.mkdirSync(sideDir);
  capsule = await Capsule.open({
    dir: path.join(root, "capsule"),
    pool: { minIdle: 0, permissions: { fsRead: [sideDir], fsWrite: [sideDir] } },
  });
});

afterEach(async () => {
  await capsule.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("Capsule durable functions", () => {
  it("runs the contract example and gives a handle to the execution by id", async () => {
    const analyze = capsule.register("analyze", async (ctx, data: number[]) => {
      const s = ctx.session("main");
      await s.execute(`const data = ${JSON.stringify(data)}`);
      const r = await s.execute("data.reduce((a, b) => a + b, 0)");
      await ctx.sleep(10);
      return r.value;
    });
    const handle = await analyze.run("analyze-1", [1, 2, 3]);
    expect(await handle.result()).toBe(6);
    const again = await capsule.get("analyze-1");
    expect(await again.result()).toBe(6);
    expect(capsule.mode).toBe("local");
    // The function finished: its session went back to the pool.
    expect(capsule.pool.leased).toBe(0);
  });

  it("treats the id as an idempotency key: a second run does not run the cells again", async () => {
    const once = capsule.register("once", async (ctx) => {
      const r = await ctx.session("s").execute(counted("once", "21 * 2"));
      return r.value;
    });
    expect(await (await once.run("once-1")).result()).toBe(42);
    expect(await (await once.run("once-1")).result()).toBe(42);
    expect(runs("once")).toBe(1);
  });

  it("records a user error: rethrown as ExecutionError with its code, not retried", async () => {
    let caught: unknown;
    const failing = capsule.register("failing", async (ctx) => {
      const s = ctx.session("s");
      try {
        await s.execute(counted("fail", "null.boom"));
      } catch (error) {
        caught = error;
      }
      await s.execute("let kept = 7; null.boom").catch(() => undefined);
      // The namespace after the failed cell is the live one: `kept` exists.
      return (await s.execute("kept")).value;
    });
    expect(await (await failing.run("fail-1")).result()).toBe(7);
    expect(caught).toBeInstanceOf(ExecutionError);
    expect(caught).toMatchObject({ code: "EXECUTION_ERROR", errorName: "TypeError" });
    expect(runs("fail")).toBe(1);
  });

  it("retries a cell whose worker crashed on a fresh worker restored from the checkpoint", async () => {
    const marker = counter("crashed-once");
    const crashy = capsule.register("crashy", async (ctx) => {
      const s = ctx.session("s");
      await s.execute("const base = 40");
      const r = await s.execute(
        counted(
          "crashy",
          `const fs = require("node:fs");
           if (!fs.existsSync(${JSON.stringify(marker)})) {
             fs.writeFileSync(${JSON.stringify(marker)}, "");
             process.kill(process.pid, "SIGKILL");
           }
           base + 2`,
        ),
      );
      return r.value;
    });
    expect(await (await crashy.run("crashy-1")).result()).toBe(42);
    expect(runs("crashy")).toBe(2);
  });

  it("streams output live and returns it with the result", async () => {
    const seen: string[] = [];
    const printing = capsule.register("printing", async (ctx) => {
      const r = await ctx.session("s").execute("console.log('one'); console.error('two'); 3", {
        onOutput: (chunk) => seen.push(`${chunk.stream}:${chunk.data}:${chunk.replayed === true}`),
      });
      return { value: r.value, output: r.output, replayed: r.replayed };
    });
    const result = await (await printing.run("print-1")).result();
    expect(result).toEqual({
      value: 3,
      replayed: false,
      output: [
        { stream: "stdout", data: "one\n" },
        { stream: "stderr", data: "two\n" },
      ],
    });
    expect(seen).toEqual(["stdout:one\n:false", "stderr:two\n:false"]);
  });

  it("keeps sessions of different names and executions apart", async () => {
    const apart = capsule.register("apart", async (ctx, value: number) => {
      await ctx.session("a").execute(`let v = ${value}`);
      await ctx.session("b").execute("let v = -1");
      return (await ctx.session("a").execute("v")).value;
    });
    const [one, two] = await Promise.all([apart.run("apart-1", 1), apart.run("apart-2", 2)]);
    expect(await one.result()).toBe(1);
    expect(await two.result()).toBe(2);
  });

  it("rejects a session name the store cannot hold, with a stable code", () => {
    expect(() => capsule.session("no spaces/or slashes")).toThrow(
      expect.objectContaining({ code: "DURABLE_INVALID_NAME" }),
    );
  });

  it("names the missing execution or session in show()", async () => {
    await expect(capsule.show("nothing-here")).rejects.toMatchObject({ code: "DURABLE_NOT_FOUND" });
  });
});
