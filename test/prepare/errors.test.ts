import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/errors.ts";
import { prepareCell } from "../../src/prepare/index.ts";
import { Notebook } from "./notebook.ts";

function syntaxErrorOf(code: string): ExecutionError {
  try {
    prepareCell(code);
  } catch (error) {
    if (error instanceof ExecutionError) return error;
    throw error;
  }
  throw new Error(`expected a syntax error for ${JSON.stringify(code)}`);
}

describe("syntax errors", () => {
  it("report a stable code, the name SyntaxError and the user's line and column", () => {
    const error = syntaxErrorOf("const ok = 1\nconst broken = ;");
    expect(error.code).toBe("EXECUTION_SYNTAX_ERROR");
    expect(error.errorName).toBe("SyntaxError");
    expect([error.line, error.column]).toEqual([2, 16]);
    expect(error.message).toContain("line 2, column 16");
  });

  it("treat a top-level return as a syntax error", () => {
    const error = syntaxErrorOf("const a = 1\n  return a");
    expect(error.errorName).toBe("SyntaxError");
    expect([error.line, error.column]).toEqual([2, 3]);
    expect(() => prepareCell("function f() { return 1 }")).not.toThrow();
  });

  it("locate errors in TypeScript code on the user's line", () => {
    const inTs = syntaxErrorOf(
      "const a: number = 1\nfunction f(x: string): string {\n  return x +;\n}",
    );
    expect(inTs.errorName).toBe("SyntaxError");
    expect(inTs.line).toBe(3);
    const firstLine = syntaxErrorOf("let y: = 3\nconst z: number = 1");
    expect(firstLine.line).toBe(1);
    const unterminated = syntaxErrorOf("type T = { a: number }\nconst s: string = 'open");
    expect(unterminated.line).toBe(2);
  });

  it("reject export, nested imports and import.meta with clear messages", () => {
    expect(syntaxErrorOf("const a = 1\nexport const b = 2")).toMatchObject({ line: 2, column: 1 });
    expect(syntaxErrorOf("const a = 1\nexport const b = 2").message).toMatch(/export/);
    expect(syntaxErrorOf("if (x) {\n  import 'node:fs'\n}")).toMatchObject({ line: 2, column: 3 });
    expect(syntaxErrorOf("const u = import.meta.url").message).toMatch(/import\.meta/);
  });

  it("reject await inside a non-async function", () => {
    expect(syntaxErrorOf("function f() {\n  await g()\n}").line).toBe(2);
  });
});

describe("runtime errors", () => {
  it("carry the user's line numbers in the stack, sync and async", async () => {
    const nb = new Notebook();
    const sync = await nb
      .run("const a = 1\nclass K {}\nnull.boom")
      .catch((error: unknown) => error);
    expect(String((sync as Error).stack)).toMatch(/cell-1\.ts:3:/);
    const cell =
      "import { join } from 'node:path'\nconst { x } = await Promise.resolve({ x: 1 })\nfunction f() {}\n\nundefinedName";
    const async = await nb.run(cell).catch((error: unknown) => error);
    // Errors come from the context's realm, so check the shape rather than instanceof.
    expect(async).toMatchObject({ name: "ReferenceError" });
    expect(String((async as Error).stack)).toMatch(/cell-2\.ts:5:/);
  });

  it("keep line numbers of TypeScript cells", async () => {
    const nb = new Notebook();
    const error = await nb
      .run("interface A {\n  b: number\n}\nconst v: A = { b: 1 } as A\nthrow new Error('here')")
      .catch((caught: unknown) => caught);
    expect(String((error as Error).stack)).toMatch(/cell-1\.ts:5:/);
  });
});

describe("the TypeScript stripper's ExperimentalWarning", () => {
  it("does not reach the console, while other warnings still do", () => {
    const prepare = fileURLToPath(new URL("../../src/prepare/index.ts", import.meta.url));
    const program = [
      `const { prepareCell } = await import(${JSON.stringify(prepare)});`,
      "prepareCell('const a: number = 1');",
      "process.emitWarning('still visible', 'UserWarning');",
    ].join("\n");
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", program], {
      encoding: "utf8",
    });
    expect(child.status).toBe(0);
    expect(child.stderr).not.toMatch(/ExperimentalWarning/);
    expect(child.stderr).toMatch(/UserWarning: still visible/);
  });
});
