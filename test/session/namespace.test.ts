import { describe, expect, it } from "vitest";
import { ExecutionError } from "../../src/errors.ts";
import { startSession } from "./helpers.ts";

describe("persistent namespace", () => {
  it("keeps every kind of top-level declaration across cells", async () => {
    const session = await startSession();
    await session.execute(`
      const c = 1;
      let l = 2;
      var v = 3;
      function f(x) { return x * 10 }
      class K { constructor(n) { this.n = n } twice() { return this.n * 2 } }
      const { a, b: [bb] } = { a: 4, b: [5] };
    `);
    const r = await session.execute("[c, l, v, f(1), new K(3).twice(), a, bb]");
    expect(r.value).toEqual([1, 2, 3, 10, 6, 4, 5]);
  });

  it("lets a cell that declares const run again (notebook habit)", async () => {
    const session = await startSession();
    await session.execute("const x = 1");
    await session.execute("const x = 2");
    expect((await session.execute("x")).value).toBe(2);
  });

  it("does not leak block-scoped names", async () => {
    const session = await startSession();
    await session.execute("{ const inner = 1; let alsoInner = 2 } for (let i = 0; i < 2; i++) {}");
    const r = await session.execute("[typeof inner, typeof alsoInner, typeof i]");
    expect(r.value).toEqual(["undefined", "undefined", "undefined"]);
  });

  it("returns the last expression's value and a readable display", async () => {
    const session = await startSession();
    const r = await session.execute("const m = new Map([[1, 'one']]); 1; m");
    expect(r.hasValue).toBe(false); // a Map is not plain data
    expect(r.display).toBe("Map(1) { 1 => 'one' }");
    const plain = await session.execute("({ list: [1, 'two', null], nested: { ok: true } })");
    expect(plain.hasValue).toBe(true);
    expect(plain.value).toEqual({ list: [1, "two", null], nested: { ok: true } });
    const declaration = await session.execute("let last = 5");
    expect(declaration.value).toBeUndefined();
    expect(declaration.display).toBe("undefined");
  });

  it("accepts TypeScript annotations", async () => {
    const session = await startSession();
    await session.execute(`
      interface Point { x: number; y: number }
      const p: Point = { x: 1, y: 2 };
      function norm(q: Point): number { return Math.hypot(q.x, q.y) }
    `);
    expect((await session.execute("norm(p as Point) > 2")).value).toBe(true);
  });

  it("binds import declarations, require and dynamic import", async () => {
    const session = await startSession();
    await session.execute("import { join } from 'node:path'; import * as os from 'node:os'");
    expect((await session.execute("join('a', 'b')")).value).toBe("a/b");
    expect((await session.execute("typeof os.cpus")).value).toBe("function");
    expect((await session.execute("require('node:util').format('%d!', 3)")).value).toBe("3!");
    expect((await session.execute("(await import('node:path')).basename('/x/y.ts')")).value).toBe(
      "y.ts",
    );
    // An installed package, resolved from the host's project.
    expect(
      (await session.execute("import { encode } from '@msgpack/msgpack'; encode(1).length")).value,
    ).toBe(1);
  });

  it("reports a syntax error with line and column, without running anything", async () => {
    const session = await startSession();
    const error = await session.execute("const ok = 1;\nlet = = 2").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error).toMatchObject({
      code: "EXECUTION_SYNTAX_ERROR",
      errorName: "SyntaxError",
      line: 2,
    });
    expect((await session.execute("typeof ok")).value).toBe("undefined");
  });

  it("rejects a top-level return as a SyntaxError", async () => {
    const session = await startSession();
    await expect(session.execute("return 1")).rejects.toMatchObject({
      code: "EXECUTION_SYNTAX_ERROR",
    });
  });

  it("reports a runtime error with the user's name, message and own stack frames", async () => {
    const session = await startSession();
    const error = (await session
      .execute("function inner() { throw new RangeError('too far') }\ninner()")
      .catch((e: unknown) => e)) as ExecutionError;
    expect(error).toBeInstanceOf(ExecutionError);
    expect(error.code).toBe("EXECUTION_ERROR");
    expect(error.errorName).toBe("RangeError");
    expect(error.message).toContain("too far");
    expect(error.line).toBe(1);
    expect(error.userStack).toMatch(/at inner \(cell-\d+\.js:1:\d+\)/);
    expect(error.userStack).not.toContain("workers/");
    expect(error.userStack).not.toContain("node:vm");
    // The session is still usable after a failing cell.
    expect((await session.execute("1 + 1")).value).toBe(2);
  });

  it("protects Capsule's names from user code", async () => {
    const session = await startSession();
    // Refused before it runs (README, cell semantics), so nothing of it takes effect.
    await expect(
      session.execute("var input = 1; console = null; display = 3"),
    ).rejects.toMatchObject({
      code: "EXECUTION_PROTECTED_NAME",
    });
    expect(
      (await session.execute("[typeof input, typeof console.log, typeof display]")).value,
    ).toEqual(["function", "function", "function"]);
  });
});
