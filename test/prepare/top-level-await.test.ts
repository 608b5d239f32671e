import { describe, expect, it } from "vitest";
import { prepareCell } from "../../src/prepare/index.ts";
import { Notebook } from "./notebook.ts";

describe("top-level await", () => {
  it("wraps the cell and resolves to the last expression's value", async () => {
    const nb = new Notebook();
    const { value, prepared } = await nb.runPrepared("const v = await Promise.resolve(20)\nv + 1");
    expect(prepared.async).toBe(true);
    expect(value).toBe(21);
    expect(nb.namespace.v).toBe(20);
  });

  it("persists destructured declarations", async () => {
    const nb = new Notebook();
    await nb.run("const f = async () => ({ a: 1, b: [2, 3] })");
    await nb.run("const { a, b: [c] } = await f()");
    expect(nb.namespace).toMatchObject({ a: 1, c: 2 });
    expect(nb.peek("typeof b")).toBe("undefined");
  });

  it("keeps comma semantics: `await a, b` is b", async () => {
    const nb = new Notebook();
    expect(await nb.run("const b = 'second'\nawait Promise.resolve('first'), b")).toBe("second");
  });

  it("persists functions (hoisted within the cell) and classes", async () => {
    const nb = new Notebook();
    await nb.run(
      "const early = twice(2)\nawait null\nfunction twice(n) { return n * 2 }\nclass Box { v = 1 }",
    );
    expect(nb.namespace.early).toBe(4);
    expect(await nb.run("twice(5) + new Box().v")).toBe(11);
  });

  it('keeps "use strict" cells strict', async () => {
    const nb = new Notebook();
    const cell = '"use strict"\nfunction f() { return this }\nawait 0\nf()';
    expect(await nb.run(cell)).toBeUndefined();
  });

  it("runs loops with await; let/const inside blocks do not leak, var does", async () => {
    const nb = new Notebook();
    await nb.run(
      "let total = 0\nfor (let i = 0; i < 3; i++) { const step = await Promise.resolve(i); total += step; var lastStep = step }",
    );
    expect(nb.namespace.total).toBe(3);
    expect(nb.namespace.lastStep).toBe(2);
    expect(nb.peek("typeof i + typeof step")).toBe("undefinedundefined");
  });

  it("runs for await over an async generator", async () => {
    const nb = new Notebook();
    await nb.run("async function* gen() { yield 'x'; yield 'y' }");
    expect(
      await nb.run(
        "const seen = []\nfor await (const item of gen()) seen.push(item)\nseen.join('')",
      ),
    ).toBe("xy");
    expect(nb.peek("typeof item")).toBe("undefined");
  });

  it("rejects with the user's own error, keeping what ran before it", async () => {
    const nb = new Notebook();
    const cell = "const before = 1\nawait null\nthrow new RangeError('boom')";
    await expect(nb.run(cell)).rejects.toMatchObject({ name: "RangeError", message: "boom" });
    expect(nb.namespace.before).toBe(1);
    await expect(nb.run("await Promise.reject(new TypeError('nope'))")).rejects.toMatchObject({
      name: "TypeError",
      message: "nope",
    });
  });

  it("ends in a declaration → undefined; `let x` without a value resets x", async () => {
    const nb = new Notebook();
    expect(await nb.run("await 1\nlet x = 5")).toBeUndefined();
    expect(nb.namespace.x).toBe(5);
    await nb.run("await 1\nlet x");
    expect(nb.namespace.x).toBeUndefined();
  });

  it("keeps every line of the cell on its own line", () => {
    const code =
      "import { join } from 'node:path'\nconst a = await 1\n{\n  var b = 2\n}\nclass C {}\na + b";
    const { source } = prepareCell(code);
    expect(source.split("\n")).toHaveLength(code.split("\n").length);
  });

  it("a blocking cell with top-level await still gets an async source", () => {
    const prepared = prepareCell(
      "const data = await load()\nrequire('node:fs').readFileSync('/x')",
    );
    expect(prepared.mode).toBe("blocking_sync");
    expect(prepared.async).toBe(true);
  });
});
