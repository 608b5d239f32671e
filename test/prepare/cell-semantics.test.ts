/**
 * What a cell means where Node's REPL is the reference: trailing empty statements, a
 * leading `{`, comma expressions after `await`, and the names Capsule keeps for itself.
 */
import { describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/errors.ts";
import { DEFAULT_PROTECTED_NAMES, prepareCell } from "../../src/prepare/index.ts";
import { PROTECTED_NAMES } from "../../workers/context.ts";
import { Notebook } from "./notebook.ts";

function preparationError(code: string, protectedNames?: readonly string[]): ExecutionError {
  try {
    prepareCell(code, protectedNames === undefined ? {} : { protectedNames });
  } catch (error) {
    if (error instanceof ExecutionError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(code)} to be refused`);
}

describe("the value of a cell ending in empty statements", () => {
  it.each([
    ["1;;;", 1],
    ["await 0;;;", 0],
    ["const a = 2; a * 3;;", 6],
    ["await Promise.resolve(4);\n;\n;", 4],
    ["'x';  ;", "x"],
  ])("%j is its last expression", async (code, value) => {
    expect(await new Notebook().run(code)).toBe(value);
  });

  it("is undefined when nothing but empty statements follow a declaration", async () => {
    const nb = new Notebook();
    expect(await nb.run("const a = 1;;;")).toBeUndefined();
    expect(await nb.run(";")).toBeUndefined();
    expect(nb.peek("a")).toBe(1);
  });

  it("keeps comma semantics after await", async () => {
    const nb = new Notebook();
    await nb.run("let x = 1, y = 2");
    expect(await nb.run("await x, y")).toBe(2);
    expect(await nb.run("await Promise.resolve(x), await Promise.resolve(y), 3;;")).toBe(3);
  });
});

describe("a cell starting with {", () => {
  it("is an object literal when it parses as one", async () => {
    const nb = new Notebook();
    expect(await nb.run("{ a: 1 }")).toEqual({ a: 1 });
    expect(await nb.run("{ a: 1, b: 'two' }")).toEqual({ a: 1, b: "two" });
    expect(await nb.run("{ a: await Promise.resolve(5) }")).toEqual({ a: 5 });
    expect(await nb.run("  {}  ")).toEqual({});
    expect(await nb.run("{ a: 1 } // a comment")).toEqual({ a: 1 });
    expect(await nb.run("{ n: 1 as number }")).toEqual({ n: 1 });
  });

  it("is an object literal over several lines, with its value's stack lines in place", async () => {
    const nb = new Notebook();
    expect(await nb.run("{\n  a: 1,\n  b: [2, 3],\n}")).toEqual({ a: 1, b: [2, 3] });
    const thrown = await nb.run("{\n  a: 1,\n  b: missing,\n}").catch((error: unknown) => error);
    expect(String((thrown as Error).stack)).toMatch(/cell-2\.ts:3:6/);
  });

  it("stays a block when it is one", async () => {
    const nb = new Notebook();
    expect(await nb.run("{ let a = 1; globalThis.seen = a }")).toBeUndefined();
    expect(nb.peek("typeof a")).toBe("undefined");
    expect(nb.peek("seen")).toBe(1);
    // Ends with `;`: a block, as in the REPL (the label `a:` and its statement).
    expect(await nb.run("{ a: 1 };")).toBeUndefined();
    expect(await nb.run("{ const b = await Promise.resolve(2); globalThis.got = b }")).toBe(
      undefined,
    );
    expect(nb.peek("got")).toBe(2);
  });

  it("that is neither a valid object nor a valid block reports the block's error", () => {
    const error = preparationError("{ let a = 1\n  a = ) }");
    expect(error.code).toBe("EXECUTION_SYNTAX_ERROR");
    expect(error.line).toBe(2);
    // Read as an object it got further: the error is where the object breaks, or where
    // the cell ends too early, never on the parenthesis Capsule added.
    expect(preparationError("{\n  a: 1,\n  b: 2 3,\n}")).toMatchObject({ line: 3, column: 8 });
    expect(preparationError("{ a: 1\n")).toMatchObject({ line: 2, column: 1 });
  });
});

describe("protected names", () => {
  it("are the names the worker defines in every session", () => {
    expect([...DEFAULT_PROTECTED_NAMES].sort()).toEqual([...PROTECTED_NAMES].sort());
  });

  it.each([
    ["const input = () => 'x'", 1, 7],
    ["let a = 1\nfunction display(v) { return v }", 2, 10],
    ["var { require } = { require: 1 }", 1, 7],
    ["class console {}", 1, 7],
    ["import { join as input } from 'node:path'", 1, 18],
    ["for (var console of []) {}", 1, 10],
    ["if (true) { var display = 1 }", 1, 17],
    ["const ok = 1\nconsole = { log() {} }", 2, 1],
    ["function f() {\n  input = null\n}", 2, 3],
    ["await 0\nlet [, require] = [1, 2]", 2, 8],
  ])("%j is refused before it runs, at the declaration", (code, line, column) => {
    const error = preparationError(code);
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error.code).toBe("EXECUTION_PROTECTED_NAME");
    expect(error.errorName).toBe("SyntaxError");
    expect([error.line, error.column]).toEqual([line, column]);
    expect(error.message).toMatch(/is provided by Capsule and cannot be (declared|assigned)/);
  });

  it("may be shadowed locally, used, and read as properties", async () => {
    const nb = new Notebook();
    nb.namespace.display = (value: unknown) => value;
    const cells = [
      "function show(console) { return console }\nshow(3)",
      "{ let input = 4; globalThis.r = input }",
      "const f = (require) => require + 1; f(1)",
      "const o = { input: 1, console: 2 }; o.input + o.console",
      "try { throw 1 } catch (display) { globalThis.caught = display }",
      "display('shown')",
    ];
    for (const cell of cells) expect(() => prepareCell(cell)).not.toThrow();
    expect(await nb.run(cells[0] ?? "")).toBe(3);
    expect(await nb.run(cells[5] ?? "")).toBe("shown");
  });

  it("are an input: capabilities join the list, and an empty list allows all", () => {
    const error = preparationError("const notify = 1", [...DEFAULT_PROTECTED_NAMES, "notify"]);
    expect(error.code).toBe("EXECUTION_PROTECTED_NAME");
    expect(error.message).toContain("'notify'");
    expect(prepareCell("const input = 1", { protectedNames: [] }).declared).toEqual(["input"]);
  });

  it("leave _ and _error as ordinary names", () => {
    expect(prepareCell("_ + 1").free).toContain("_");
    expect(prepareCell("const _ = 1").declared).toEqual(["_"]);
    expect(prepareCell("_error").free).toContain("_error");
  });
});
