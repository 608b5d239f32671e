import { describe, expect, it } from "vitest";
import { Notebook } from "./notebook.ts";

describe("top-level declarations persist across cells", () => {
  it("keeps const, let, var, function, class and destructuring as namespace properties", async () => {
    const nb = new Notebook();
    await nb.run("const a = 1\nlet b = 2\nvar c = 3");
    await nb.run(
      "function add(x, y) { return x + y }\nclass Point { constructor(x) { this.x = x } }",
    );
    await nb.run("const { d, e: [f], ...rest } = { d: 4, e: [5], g: 6 }");
    expect(await nb.run("add(a + b + c, d + f) + new Point(rest.g).x")).toBe(21);
    expect(Object.keys(nb.namespace)).toEqual(
      expect.arrayContaining(["a", "b", "c", "add", "Point", "d", "f", "rest"]),
    );
    expect(nb.namespace.a).toBe(1);
  });

  it("lets a cell that declares const/let/class run again (notebook habit)", async () => {
    const nb = new Notebook();
    const cell = "const x = Math.random(); let y = 1; class K {}\nx";
    const first = await nb.run(cell);
    const second = await nb.run(cell);
    expect(second).not.toBe(first);
    expect(nb.namespace.x).toBe(second);
    await nb.run("const x = 'changed'");
    expect(nb.namespace.x).toBe("changed");
  });

  it("does not leak names declared in blocks, loops, functions or catch clauses", async () => {
    const nb = new Notebook();
    await nb.run(
      [
        "{ let inBlock = 1; const alsoInBlock = 2; class InBlock {} }",
        "for (let i = 0; i < 2; i++) { const loopBody = i }",
        "for (const k of [1]) {}",
        "function f() { var inFunction = 1; let local = 2 }",
        "try { throw 1 } catch (caught) { let inCatch = caught }",
        "if (true) { let inIf = 1 }",
      ].join("\n"),
    );
    for (const name of [
      "inBlock",
      "alsoInBlock",
      "InBlock",
      "i",
      "loopBody",
      "k",
      "inFunction",
      "local",
      "caught",
      "inCatch",
      "inIf",
    ]) {
      expect(nb.peek(`typeof ${name}`), name).toBe("undefined");
    }
  });

  it("persists var declared inside top-level blocks and loop heads, like a script", async () => {
    const nb = new Notebook();
    await nb.run(
      "{ var fromBlock = 1 }\nfor (var n = 0; n < 3; n++) {}\nfor (var key in { p: 1 }) {}",
    );
    expect(nb.namespace).toMatchObject({ fromBlock: 1, n: 3, key: "p" });
  });

  it("lets later cells see and change earlier names, and closures read the namespace", async () => {
    const nb = new Notebook();
    await nb.run("let counter = 0\nconst bump = () => ++counter");
    await nb.run("bump(); bump()");
    expect(nb.namespace.counter).toBe(2);
    await nb.run("counter = 10");
    expect(await nb.run("bump()")).toBe(11);
  });
});

describe("the cell's value", () => {
  it("is the value of the last expression statement", async () => {
    const nb = new Notebook();
    expect(await nb.run("1; 2")).toBe(2);
    expect(await nb.run("const v = 3\nv * 2")).toBe(6);
    expect(await nb.run("'a', 'b'")).toBe("b");
    expect(await nb.run("({ k: 1 })")).toEqual({ k: 1 });
  });

  it("is undefined when the cell ends in a declaration or another statement", async () => {
    const nb = new Notebook();
    expect(await nb.run("1; const x = 2")).toBeUndefined();
    expect(await nb.run("5\nfunction f() {}")).toBeUndefined();
    expect(await nb.run("5\nclass C {}")).toBeUndefined();
    expect(await nb.run("7; if (true) { 8 }")).toBeUndefined();
    expect(await nb.run("9; var z = 1 // trailing comment")).toBeUndefined();
    expect(await nb.run("// only a comment")).toBeUndefined();
    expect(await nb.run("")).toBeUndefined();
  });

  it("survives a trailing line comment after the last expression", async () => {
    const nb = new Notebook();
    expect(await nb.run("40 + 2 // the answer")).toBe(42);
    expect(await nb.run("await 0; 40 + 2 // the answer")).toBe(42);
  });
});

describe("TypeScript cells", () => {
  it("accepts annotations, interfaces, type aliases, generics and `as`", async () => {
    const nb = new Notebook();
    await nb.run(
      [
        "interface User { name: string; age?: number }",
        "type Id = string | number",
        "function first<T>(items: T[]): T | undefined { return items[0] }",
        "const user: User = { name: 'ada' } as User",
        "let id: Id = first<number>([7, 8]) as number",
      ].join("\n"),
    );
    expect(await nb.run("const label: string = user.name + '#' + id; label")).toBe("ada#7");
    expect(nb.peek("typeof User")).toBe("undefined");
  });

  it("supports enums (transform mode) and they persist", async () => {
    const nb = new Notebook();
    await nb.run("enum Color { Red, Green = 'green' }");
    expect(await nb.run("Color.Red")).toBe(0);
    expect(await nb.run("Color.Green")).toBe("green");
  });

  it("supports namespaces and parameter properties, keeping the last value", async () => {
    const nb = new Notebook();
    expect(await nb.run("namespace Units { export const metre = 1 }\nUnits.metre")).toBe(1);
    await nb.run("class Account { constructor(public owner: string) {} }");
    expect(await nb.run("new Account('ada').owner")).toBe("ada");
  });

  it("accepts declare, abstract classes, satisfies, overloads and non-null assertions", async () => {
    const nb = new Notebook();
    await nb.run(
      [
        "declare const injected: number",
        "abstract class Shape { abstract area(): number; describe() { return 'shape' } }",
        "const limits = { max: 3 } satisfies Record<string, number>",
        "function pad(value: string): string",
        "function pad(value: unknown) { return '[' + String(value) + ']' }",
        "let label!: string",
      ].join("\n"),
    );
    expect(
      await nb.run("class Square extends Shape { area() { return 4 } }\nnew Square().area()"),
    ).toBe(4);
    expect(await nb.run("pad(limits.max)!.length")).toBe(3);
  });

  it("keeps sloppy JavaScript that TypeScript rejects", async () => {
    const nb = new Notebook();
    expect(await nb.run("var o = { p: 5 }, got\nwith (o) { got = p }\ngot")).toBe(5);
  });
});

describe("import declarations", () => {
  it("binds named and namespace imports through import()", async () => {
    const nb = new Notebook();
    const { value, prepared } = await nb.runPrepared(
      "import { join } from 'node:path'\nimport * as os from 'node:os'\njoin('a', 'b') + ':' + typeof os.platform",
    );
    expect(value).toBe("a/b:function");
    expect(prepared.async).toBe(true);
    expect(prepared.mode).toBe("top_level_await");
    expect(await nb.run("os.EOL")).toBe("\n");
  });

  it("binds default, renamed and string-named imports, spanning lines", async () => {
    const nb = new Notebook();
    await nb.run("import fs, {\n  existsSync as exists,\n} from 'node:fs'\nconst after = 1");
    expect(await nb.run("typeof fs.readFileSync + typeof exists")).toBe("functionfunction");
    expect(nb.namespace.after).toBe(1);
    await nb.run('import { "basename" as base } from "node:path"');
    expect(await nb.run("base('/x/y.txt')")).toBe("y.txt");
  });

  it("runs a side-effect-only import", async () => {
    const nb = new Notebook();
    const { value, prepared } = await nb.runPrepared("import 'node:path'\n1");
    expect(value).toBe(1);
    expect(prepared.imports).toEqual([]);
  });

  it("rejects the cell's promise when the module cannot be found", async () => {
    const nb = new Notebook();
    await expect(nb.run("import { x } from 'no-such-package-capsule'")).rejects.toThrow(
      /no-such-package-capsule/,
    );
  });
});
