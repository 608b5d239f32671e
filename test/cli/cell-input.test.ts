// When the REPL waits for more lines: decided by the project's own parser.
import { describe, expect, it } from "vitest";
import { checkCell } from "../../src/cli/cell-input.ts";

describe("checkCell", () => {
  it.each([
    "function f() {",
    "const list = [1,\n2",
    "foo(",
    "1 +",
    "obj.",
    "let s = `first line",
    "/* a comment",
    "if (ready) {\n  go()\n",
  ])("waits for more input after %j", (code) => {
    expect(checkCell(code).kind).toBe("incomplete");
  });

  it.each(["1 + 1", "const o = {\n  a: 1,\n}", "let n: number = 4", "if (x) {\n}\n", "await f()"])(
    "runs %j as it is",
    (code) => {
      expect(checkCell(code).kind).toBe("complete");
    },
  );

  it("reports a syntax error that more lines cannot fix, with its position", () => {
    const check = checkCell("const x = )\n");
    expect(check.kind).toBe("invalid");
    if (check.kind !== "invalid") return;
    expect(check.error.code).toBe("EXECUTION_SYNTAX_ERROR");
    expect([check.error.line, check.error.column]).toEqual([1, 11]);
    expect(checkCell("'unterminated string").kind).toBe("invalid");
  });
});
