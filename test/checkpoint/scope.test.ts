import { parse } from "acorn";
import { describe, expect, it } from "vitest";
import { freeNames } from "../../src/checkpoint/scope.ts";

function free(source: string): string[] {
  const program = parse(`(${source})`, { ecmaVersion: "latest" });
  const statement = program.body[0];
  if (statement?.type !== "ExpressionStatement") throw new Error("not an expression");
  return [...freeNames(statement.expression as never).free].sort();
}

describe("free identifiers of a function source", () => {
  it("ignores parameters, locals, property names, labels and its own name", () => {
    expect(
      free(`function walk(node, { depth = limit } = {}, ...rest) {
        const [a, { b }] = node.items;
        let total = a + b + node.size + rest.length + arguments.length;
        outer: for (const child of node.children) { if (!child) continue outer; total += walk(child); }
        for (let i = 0; i < 3; i++) total += i;
        try { risky(); } catch ({ message }) { log(message); }
        const o = { total, [key]: 1, method() { return this.x; } };
        return o.total + depth;
      }`),
    ).toEqual(["key", "limit", "log", "risky"]);
  });

  it("sees through nested functions, classes and hoisting", () => {
    expect(
      free("() => { inner(); function inner() { return helper; } var late = 1; return late; }"),
    ).toEqual(["helper"]);
    expect(free("class A extends Base { m() { return new A(dep); } static s = other; }")).toEqual([
      "Base",
      "dep",
      "other",
    ]);
    expect(free("function f() { { let scoped = 1; } return scoped; }")).toEqual(["scoped"]);
    expect(free("function f() { [x, y] = [1, 2]; }")).toEqual(["x", "y"]);
  });

  it("flags an arrow that uses its enclosing this, but not a nested function's", () => {
    const parsed = (source: string) => {
      const program = parse(`(${source})`, { ecmaVersion: "latest" });
      const statement = program.body[0];
      if (statement?.type !== "ExpressionStatement") throw new Error("not an expression");
      return freeNames(statement.expression as never).usesLexicalThis;
    };
    expect(parsed("() => this.x")).toBe(true);
    expect(parsed("() => () => arguments[0]")).toBe(true);
    expect(parsed("() => function () { return this; }")).toBe(false);
    expect(parsed("function () { return () => this; }")).toBe(false);
  });
});
