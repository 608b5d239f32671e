/**
 * Output arrives exactly in the order of the calls that wrote it, across `console.*`,
 * `process.stdout/stderr.write` and `display`, on both paths; a partial line is
 * delivered whole; output written after a cell ended (a timer) is not lost.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import type { OutputChunk } from "../../src/session/options.ts";
import { collectOutput, startSession } from "./helpers.ts";

/** A cell writing `count` pieces through every route, alternating, some without newline. */
/** `a a b a` → `a b a`. */
function collapseRuns(values: string[]): string[] {
  return values.filter((value, i) => i === 0 || values[i - 1] !== value);
}

function interleavedWrites(count: number): { code: string; expected: string } {
  const lines: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < count; i++) {
    switch (i % 4) {
      case 0:
        lines.push(`console.log("log ${i}");`);
        expected.push(`log ${i}\n`);
        break;
      case 1:
        lines.push(`process.stdout.write("part ${i} ");`);
        expected.push(`part ${i} `);
        break;
      case 2:
        lines.push(`console.error("err ${i}");`);
        expected.push(`err ${i}\n`);
        break;
      default:
        lines.push(`process.stderr.write("raw ${i}");`);
        expected.push(`raw ${i}`);
    }
  }
  return { code: lines.join("\n"), expected: expected.join("") };
}

describe.each([
  { path: "event loop", mode: undefined },
  { path: "blocking", mode: "blocking_sync" as const },
])("output order on the $path path", ({ mode }) => {
  const options = mode === undefined ? {} : { mode };

  it("delivers many interleaved writes in call order, partial lines whole", async () => {
    const session = await startSession();
    const output = collectOutput();
    const { code, expected } = interleavedWrites(400);
    await session.execute(code, { ...options, onOutput: output.onOutput });
    expect(output.text()).toBe(expected);
    // Writes to one stream in a row may share a chunk (the worker coalesces them), but a
    // chunk never spans streams and never splits a write: each chunk is a whole run of
    // its stream's writes, and the runs alternate as the cell wrote them.
    expect(collapseRuns(output.chunks.map((chunk) => chunk.stream))).toEqual(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? "stdout" : "stderr")),
    );
    for (const chunk of output.chunks)
      expect(chunk.data).toMatch(chunk.stream === "stdout" ? /^(log|part) \d/ : /^(err|raw) \d/);
    expect(output.chunks.length).toBeLessThanOrEqual(400);
  });

  it("sends a timer's output after the cell ended to the session's output event", async () => {
    const session = await startSession();
    const late = once(session, "output") as Promise<[OutputChunk]>;
    const r = await session.execute(
      "setTimeout(() => process.stdout.write('late, no newline'), 20); 'cell done'",
      options,
    );
    expect(r.value).toBe("cell done");
    const [chunk] = await late;
    expect(chunk).toEqual({ stream: "stdout", data: "late, no newline" });
  });

  it("gives a later cell's observer what an earlier cell's callback prints while it runs", async () => {
    const session = await startSession();
    // The earlier cell leaves a callback behind that prints when the later cell releases it.
    await session.execute(
      "var release; new Promise((resolve) => { release = resolve }).then(() => console.log('from the earlier cell')); 'armed'",
      options,
    );
    const output = collectOutput();
    await session.execute("release(); await null; console.log('later')", {
      onOutput: output.onOutput,
    });
    expect(output.text()).toBe("from the earlier cell\nlater\n");
  });
});
