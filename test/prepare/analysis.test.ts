import { describe, expect, it } from "vitest";
import { prepareCell } from "../../src/prepare/index.ts";

function names(code: string): { declared: string[]; free: string[]; assigned: string[] } {
  const { declared, free, assigned } = prepareCell(code);
  return { declared: [...declared].sort(), free: [...free].sort(), assigned: [...assigned].sort() };
}

describe("declared names", () => {
  it("lists every top-level binding form", () => {
    const code = [
      "const a = 1, { b, c: [d], ...e } = o",
      "let f; var g = 2",
      "function h() {}",
      "async function* i() {}",
      "class J {}",
      "import k, { l as m } from 'mod'",
      "import * as n from 'ns'",
      "{ var p = 1 }",
      "for (var q of []) {}",
    ].join("\n");
    expect(names(code).declared).toEqual([
      "J",
      "a",
      "b",
      "d",
      "e",
      "f",
      "g",
      "h",
      "i",
      "k",
      "m",
      "n",
      "p",
      "q",
    ]);
  });

  it("excludes block-scoped and function-local names", () => {
    const code =
      "{ let a; const b = 1; class C {}; function d() {} }\nfor (let i = 0;;) {}\nfunction f(x) { var y; let z }\ntry {} catch (err) {}";
    expect(names(code).declared).toEqual(["f"]);
  });
});

describe("free and assigned names", () => {
  it("lists names read or written that the cell does not declare", () => {
    const result = names("const local = input + 1\nconsole.log(local, other.prop, typeof maybe)");
    expect(result.free).toEqual(["console", "input", "maybe", "other"]);
    expect(result.assigned).toEqual([]);
  });

  it("marks assignments anywhere, including updates, destructuring and loop heads", () => {
    const code = [
      "count++",
      "total += 1",
      "({ a: renamed, ...others } = source);",
      "[first, [second = fallback]] = pair",
      "for (item of list) {}",
      "function bump() { hits = hits + 1 }",
      "obj.prop = 1",
    ].join("\n");
    const result = names(code);
    expect(result.assigned).toEqual([
      "count",
      "first",
      "hits",
      "item",
      "others",
      "renamed",
      "second",
      "total",
    ]);
    expect(result.free).toEqual(
      expect.arrayContaining(["source", "pair", "fallback", "list", "obj"]),
    );
    expect(result.assigned).not.toContain("obj");
  });

  it("resolves names through functions, parameters, closures, catch and class scopes", () => {
    const code = [
      "function outer(param, { key } = defaults) {",
      "  const inner = () => param + key + arguments.length + shared",
      "  return inner",
      "}",
      "const fn = function named() { return named }",
      "const K = class Self { static make() { return new Self() } }",
      "try { risky() } catch (problem) { problem.message }",
      "label: for (const x of xs) { continue label }",
      "switch (v) { case 1: let s = 2; s; break }",
      "const o = { shorthand, method() { return this.shorthand }, [computed]: 1 }",
    ].join("\n");
    const result = names(code);
    expect(result.free).toEqual([
      "computed",
      "defaults",
      "risky",
      "shared",
      "shorthand",
      "v",
      "xs",
    ]);
  });

  it("does not count a cell's own top-level names as free, even when assigned", () => {
    const result = names("let n = 0\nn = n + 1\nfunction reset() { n = 0 }");
    expect(result.free).toEqual([]);
    expect(result.assigned).toEqual([]);
  });

  it("ignores names that only appear in TypeScript types", () => {
    const result = names(
      "const value: SomeType<Other> = make() as Third\nfunction f(x: Param): Ret { return x }",
    );
    expect(result.free).toEqual(["make"]);
  });
});

describe("imports", () => {
  it("describes each binding with its specifier and imported name", () => {
    const { imports } = prepareCell(
      "import def, { a, b as c, 'd-e' as f } from './mod.js'\nimport * as ns from 'node:os'\nimport 'side-effect'",
    );
    expect(imports).toEqual([
      { name: "def", specifier: "./mod.js", imported: "default" },
      { name: "a", specifier: "./mod.js", imported: "a" },
      { name: "c", specifier: "./mod.js", imported: "b" },
      { name: "f", specifier: "./mod.js", imported: "d-e" },
      { name: "ns", specifier: "node:os", imported: "*" },
    ]);
  });

  it("drops type-only imports with the types", () => {
    const prepared = prepareCell(
      "import type { Foo } from './types.js'\nimport { type Bar, baz } from './m.js'",
    );
    expect(prepared.imports).toEqual([{ name: "baz", specifier: "./m.js", imported: "baz" }]);
    expect(prepared.declared).toEqual(["baz"]);
  });
});
