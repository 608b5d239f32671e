import { describe, expect, it } from "vitest";
import { collectOutput, startSession } from "./helpers.ts";

describe("streamed output", () => {
  it("delivers console and process writes in order", async () => {
    const session = await startSession();
    const out = collectOutput();
    await session.execute(
      `console.log('one'); process.stdout.write('two\\n'); console.error('three'); process.stderr.write('four\\n'); display({ five: 5 })`,
      { onOutput: out.onOutput },
    );
    // Writes to one stream in a row may arrive as one chunk (the worker coalesces them).
    const joined = out.chunks.reduce<typeof out.chunks>((runs, chunk) => {
      const last = runs.at(-1);
      if (last !== undefined && last.stream === chunk.stream && chunk.stream !== "display")
        runs[runs.length - 1] = { ...last, data: last.data + chunk.data };
      else runs.push(chunk);
      return runs;
    }, []);
    expect(joined).toEqual([
      { stream: "stdout", data: "one\ntwo\n" },
      { stream: "stderr", data: "three\nfour\n" },
      // A display is its text for text-only consumers, and its MIME bundle as `rich`.
      {
        stream: "display",
        data: "{ five: 5 }",
        rich: { action: "display", data: { "text/plain": "{ five: 5 }" } },
      },
    ]);
  });

  for (const [label, code] of [
    ["async executor", "console.log('before'); const answer = await input('go?'); answer"],
    ["threaded executor", "console.log('before'); const answer = input('go?'); answer"],
  ] as const) {
    it(`streams output while the cell is still running (${label})`, async () => {
      const session = await startSession();
      const out = collectOutput();
      // The cell is blocked in input() until onInput answers, so what onInput sees was
      // delivered while the cell was running.
      let seenWhileRunning = "";
      const r = await session.execute(code, {
        onOutput: out.onOutput,
        onInput: () => {
          seenWhileRunning = out.text();
          return "yes";
        },
      });
      expect(seenWhileRunning).toBe("before\n");
      expect(r.value).toBe("yes");
    });
  }

  it("bounds a flood of output with a truncation marker", async () => {
    const session = await startSession({ limits: { outputBytes: 64 * 1024 } });
    const out = collectOutput();
    const r = await session.execute(
      "for (let i = 0; i < 100000; i++) console.log('line ' + i); 'survived'",
      {
        onOutput: out.onOutput,
      },
    );
    expect(r.value).toBe("survived");
    const marker = out.chunks.filter((chunk) => chunk.truncated);
    expect(marker).toHaveLength(1);
    const delivered = out.chunks
      .filter((chunk) => !chunk.truncated)
      .reduce((n, c) => n + c.data.length, 0);
    expect(delivered).toBeLessThanOrEqual(64 * 1024);
    // The budget is per execution: the next cell streams again.
    const next = collectOutput();
    await session.execute("console.log('again')", { onOutput: next.onOutput });
    expect(next.text()).toBe("again\n");
  });
});

describe("input()", () => {
  it("answers `await input()` in an async cell and a synchronous input() in a blocking cell", async () => {
    const session = await startSession();
    const prompts: string[] = [];
    const onInput = (prompt: string) => {
      prompts.push(prompt);
      return `answer ${prompts.length}`;
    };
    expect((await session.execute("await input('first? ')", { onInput })).value).toBe("answer 1");
    const blocking = await session.execute(
      "const a = input('second? '); const b = input('third? '); [a, b]",
      {
        onInput,
      },
    );
    expect(blocking.mode).toBe("blocking_sync");
    expect(blocking.value).toEqual(["answer 2", "answer 3"]);
    expect(prompts).toEqual(["first? ", "second? ", "third? "]);
  });

  it("fails input() clearly when the caller gave no input handler, on either executor", async () => {
    const session = await startSession();
    for (const code of ["await input('x')", "input('x')"]) {
      await expect(session.execute(code)).rejects.toMatchObject({
        code: "EXECUTION_ERROR",
        message: expect.stringContaining("no input handler"),
      });
    }
  });

  for (const [label, code] of [
    ["async executor", "await input('wait for me')"],
    ["threaded executor", "input('wait for me')"],
  ] as const) {
    it(`wakes a waiting input() when the cell is cancelled (${label})`, async () => {
      const session = await startSession();
      const controller = new AbortController();
      const pending = session.execute(code, {
        signal: controller.signal,
        onInput: () => {
          controller.abort();
          return new Promise<string>(() => {}); // never answered
        },
      });
      await expect(pending).rejects.toMatchObject({ code: "EXECUTION_CANCELLED" });
      expect((await session.execute("'still usable'")).value).toBe("still usable");
    });
  }
});
