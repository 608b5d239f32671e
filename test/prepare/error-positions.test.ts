/**
 * Errors point at the user's own line and column: syntax errors of many shapes, runtime
 * errors in cells rewritten for top-level await, and errors thrown by a function that an
 * earlier cell defined (through a real session, on the event loop and the blocking path).
 */
import { describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/errors.ts";
import { prepareCell } from "../../src/prepare/index.ts";
import { startSession } from "../session/helpers.ts";
import { Notebook } from "./notebook.ts";

function positionOf(code: string): [number | undefined, number | undefined] {
  try {
    prepareCell(code);
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    expect(error.code).toBe("EXECUTION_SYNTAX_ERROR");
    return [error.line, error.column];
  }
  throw new Error(`expected a syntax error for ${JSON.stringify(code)}`);
}

describe("multi-line syntax errors", () => {
  it.each([
    ["unterminated string on line 3", "let a = 1\nlet b = 2\nlet s = 'abc\nlet d = 4", [3, 9]],
    ["after a top-level await", "await 1\nconst a = 2\nconst b = )", [3, 11]],
    ["await later in the cell", "const a = 2\nconst b = {\n\n}}\nawait a", [4, 2]],
    [
      "TypeScript type position",
      "const a: number = 1\nconst b: string = 'x'\nconst c: = 3",
      [3, 1],
    ],
    ["TypeScript after an enum", "enum E { A, B }\nconst x = 1\nconst y = 'abc\n", [3, 11]],
    ["TypeScript after an interface", "interface P {\n  x: number\n}\nlet q: P = (\n", [4, 1]],
    ["an object literal cell", "{\n  a: 1,\n  b: 2 3,\n}", [3, 8]],
    ["after CRLF line breaks", "let a = 1\r\nlet b = 2\r\nlet c = ;", [3, 9]],
  ])("%s", (_shape, code, expected) => {
    expect(positionOf(code)).toEqual(expected);
  });
});

describe("runtime errors of rewritten cells", () => {
  it("keep the line and column of the expression that gives the value", async () => {
    const nb = new Notebook();
    const cases: [string, RegExp][] = [
      ["await 0;\nnull.q", /cell-1\.ts:2:6/],
      ["await 0\n\n  missingName", /cell-2\.ts:3:3/],
      ["const { x } = await Promise.resolve({ x: 1 })\nx.y.z", /cell-3\.ts:2:5/],
      ["await 0\n// a comment\nmissing()", /cell-4\.ts:3:1/],
    ];
    for (const [cell, where] of cases) {
      const thrown = await nb.run(cell).catch((error: unknown) => error);
      expect(String((thrown as Error).stack)).toMatch(where);
    }
  });
});

describe.each(["detected", "blocking_sync"] as const)(
  "an error thrown by a function from an earlier cell (%s)",
  (mode) => {
    it("reports the earlier cell's position and keeps both cells' frames", async () => {
      const session = await startSession();
      const options = mode === "detected" ? {} : { mode };
      await session.execute("let unused = 0\nfunction fail() {\n  throw new RangeError('deep')\n}");
      const thrown = await session.execute("1\n\nfail()", options).catch((error: unknown) => error);
      expect(thrown).toBeInstanceOf(ExecutionError);
      const error = thrown as ExecutionError;
      expect(error.errorName).toBe("RangeError");
      expect([error.line, error.column]).toEqual([3, 9]);
      const frames = error.userStack.split("\n").filter((line) => /^\s+at /.test(line));
      expect(frames[0]).toMatch(/fail .*cell-1\.js:3:9/);
      expect(frames[1]).toMatch(/cell-2\.js:3:1\b/);
      // The same from a cell rewritten for top-level await: its own frame keeps its column.
      const later = await session
        .execute("await 0\n\nfail()", options)
        .catch((error: unknown) => error);
      expect((later as ExecutionError).userStack).toMatch(
        /fail .*cell-1\.js:3:9\)\n.*cell-3\.js:3:1\b/,
      );
    });
  },
);
