import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Capsule, type PendingInput, type TreeNode } from "../../durable/index.ts";
import { cleanup, run } from "../cli/cli-process.ts";
import { startJsonLinesChild } from "../support/json-lines-child.ts";
import { useStoreDirs } from "../support/store-dirs.ts";
import { killHard } from "./capsule-process.ts";

const FIXTURE = path.join(
  import.meta.dirname,
  "..",
  "capabilities",
  "fixtures",
  "durable-child.ts",
);

const dirs = useStoreDirs("capsule-input-");

afterEach(async () => {
  await cleanup();
});

async function openCapsule(): Promise<Capsule> {
  return Capsule.open({
    dir: dirs.store,
    pool: { minIdle: 0, permissions: { fsRead: [dirs.side], fsWrite: [dirs.side] } },
  });
}

describe("durable input()", () => {
  it("is answered by onInput, and the recorded answer serves a re-run without asking again", async () => {
    const capsule = await openCapsule();
    try {
      const prompts: string[] = [];
      const marker = JSON.stringify(path.join(dirs.side, "ran"));
      const job = capsule.register("ask-once", async (ctx) => {
        const result = await ctx.session("main").execute(
          `const answer = await input("name?");
           const fs = require("node:fs");
           if (!fs.existsSync(${marker})) { fs.writeFileSync(${marker}, ""); process.kill(process.pid, "SIGKILL"); }
           "hello " + answer`,
          {
            onInput: (prompt) => {
              prompts.push(prompt);
              return "Ada";
            },
          },
        );
        return result.value;
      });
      expect(await (await job.run("ask-once-1")).result()).toBe("hello Ada");
      // The worker died after the answer; the retried cell got it from the record.
      expect(prompts).toEqual(["name?"]);
      expect(await capsule.inputs()).toEqual([]);
    } finally {
      await capsule.close();
    }
  });

  it("waits without onInput until capsule.answer; a second answer is refused", async () => {
    const capsule = await openCapsule();
    try {
      const job = capsule.register("ask-wait", async (ctx) => {
        const result = await ctx.session("main").execute('"got " + await input("ship it?")');
        return result.value;
      });
      const handle = await job.run("ask-wait-1");
      const question = await firstQuestion(capsule);
      expect(question).toMatchObject({
        prompt: "ship it?",
        execution: "ask-wait-1",
        session: "main",
      });
      expect(question.id).toMatch(/\.input-0$/);
      // `capsule tree` shows the question under its cell's step: pending, then answered.
      const inputNode = async () => findNode(await capsule.tree("ask-wait-1"), question.id);
      expect(await inputNode()).toMatchObject({ label: "input", state: "pending" });
      await capsule.answer(question.id, "yes");
      expect(await handle.result()).toBe("got yes");
      expect(await inputNode()).toMatchObject({ label: "input", state: "resolved" });
      await expect(capsule.answer(question.id, "no")).rejects.toMatchObject({
        code: "INPUT_ALREADY_ANSWERED",
      });
      await expect(capsule.answer("nope", "x")).rejects.toMatchObject({
        code: "INPUT_NOT_PENDING",
      });
    } finally {
      await capsule.close();
    }
  });

  it("times out with INPUT_TIMEOUT after inputTimeoutMs", async () => {
    const capsule = await openCapsule();
    try {
      const job = capsule.register("ask-late", async (ctx) => {
        const caught = await ctx
          .session("main")
          .execute('let code; try { await input("anyone?") } catch (e) { code = e.code }; code', {
            inputTimeoutMs: 300,
          });
        await ctx.session("main").execute('await input("anyone, again?")', { inputTimeoutMs: 300 });
        return caught.value;
      });
      await expect((await job.run("ask-late-1")).result()).rejects.toMatchObject({
        message: expect.stringContaining("INPUT_TIMEOUT"),
      });
      // The cell that caught it saw the code on the error.
      const first = (await capsule.show("ask-late-1")).cells[0];
      expect(first).toMatchObject({ result: { value: "INPUT_TIMEOUT" } });
      expect(await capsule.inputs()).toEqual([]);
    } finally {
      await capsule.close();
    }
  });

  it("is answered with the CLI after the orchestrator was killed while waiting; a restart finishes", async () => {
    const asking = startJsonLinesChild(FIXTURE, ["ask", dirs.store, dirs.side]);
    const asked = await asking.next("asked");
    await killHard(asking);
    const id = String(asked.id);

    const listed = await run(["inputs", "--json", "--dir", dirs.store]);
    expect(listed.code, listed.stderr).toBe(0);
    const pending = JSON.parse(listed.stdout) as PendingInput[];
    expect(pending).toEqual([
      expect.objectContaining({ id, prompt: "approve deploy?", execution: "ask-1" }),
    ]);

    const answered = await run(["answer", id, "yes", "--dir", dirs.store]);
    expect(answered.code, answered.stderr).toBe(0);
    const twice = await run(["answer", id, "no", "--dir", dirs.store]);
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(/already answered/);
    const unknown = await run(["answer", "no-such-question", "yes", "--dir", dirs.store]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/not a pending input/);

    const resumed = startJsonLinesChild(FIXTURE, ["ask", dirs.store, dirs.side]);
    const done = await resumed.next("done");
    expect(done.result).toBe("approved: yes");
    expect((await resumed.exited).code, resumed.stderr()).toBe(0);
    expect(resumed.reports().some((r) => r.event === "asked")).toBe(false);
    const after = await run(["inputs", "--json", "--dir", dirs.store]);
    expect(JSON.parse(after.stdout)).toEqual([]);
  });
});

function findNode(node: TreeNode, id: string): TreeNode | undefined {
  if (node.id === id) return node;
  for (const child of node.children) {
    const found = findNode(child, id);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The first pending question, once the cell has asked it (the store is looked at until then). */
async function firstQuestion(capsule: Capsule): Promise<PendingInput> {
  for (;;) {
    const [question] = await capsule.inputs();
    if (question !== undefined) return question;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
