/**
 * A cell that parses as JavaScript skips Node's type stripper when TypeScript would read
 * it alike (`readsAlikeAsJavaScript`). What that rests on is checked against the stripper
 * itself, so a Node upgrade that changes how it reads JavaScript fails here rather than
 * changing what cells mean.
 */
import { readdirSync, readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { join } from "node:path";
import { parse } from "acorn";
import { describe, expect, it } from "vitest";
import { prepareCell } from "../../src/index.ts";
import { ACORN_OPTIONS } from "../../src/prepare/acorn-options.ts";
import { readsAlikeAsJavaScript } from "../../src/prepare/typescript.ts";

function parsesAsJavaScript(code: string): boolean {
  try {
    parse(code, ACORN_OPTIONS);
    return true;
  } catch {
    return false;
  }
}

/** The stripper's reading of `code`: the JavaScript it makes, or "rejected". */
function stripped(code: string): string {
  try {
    return stripTypeScriptTypes(code, { mode: "strip" });
  } catch {
    return "rejected";
  }
}

/**
 * What the skip must preserve: for JavaScript it lets through, the stripper either makes
 * no change or rejects the code (a rejected cell is then read as JavaScript anyway).
 */
function skipIsSafe(code: string): boolean {
  if (!parsesAsJavaScript(code) || !readsAlikeAsJavaScript(code)) return true;
  const out = stripped(code);
  return out === code || out === "rejected";
}

const WORDS = [
  ...["declare", "abstract", "namespace", "module", "global", "enum", "interface", "type"],
  ...["implements", "as", "satisfies", "is", "asserts", "keyof", "infer", "readonly"],
  ...["public", "private", "protected", "override", "accessor", "unique", "out", "in"],
  ...["static", "async", "get", "set", "let", "const", "using", "this", "never", "any"],
];

/** Each word where a line break separates it from what TypeScript could attach it to. */
function shapes(word: string): string[] {
  return [
    `${word}\nlet x`,
    `${word}\nconst x = 1`,
    `${word}\nclass A {}`,
    `${word}\nfoo\n{}`,
    `${word}\n{}`,
    `${word}\nX = 1`,
    `${word}\n"x"\n{}`,
    `${word}\nfunction f() {}`,
    `x\n${word}\ny`,
    `var ${word}; ${word}\n(x)`,
    `var ${word}; ${word}\n[x]`,
    `class A { ${word}\nx }`,
    `class A { ${word}\nx = 1 }`,
    `class A { ${word}\nm() {} }`,
    `class A { static ${word}\nx }`,
    `class A { ${word}\n#x }`,
    `class A { ${word}\n[x] }`,
    `class A { ${word}\nget x() { return 1 } }`,
    `({ ${word}\n: 1 })`,
  ];
}

describe("skipping the type stripper for JavaScript", () => {
  it("keeps TypeScript's reading where JavaScript would read the same text otherwise", () => {
    // JavaScript reads these as comparisons or separate statements.
    for (const [code, js] of [
      ["f<number>(5)", "f(5)"],
      ["a<b, c>(d)", "a(d)"],
      ["declare\nlet x", ""],
      ["namespace\nfoo\n{}", ""],
    ] as const) {
      expect(parsesAsJavaScript(code), code).toBe(true);
      expect(readsAlikeAsJavaScript(code), code).toBe(false);
      expect(prepareCell(code).source.replace(/\s+/g, ""), code).toContain(js);
      expect(prepareCell(code).source, code).not.toContain("<");
    }
  });

  it("lets through ordinary JavaScript, strings and comments included", () => {
    for (const code of ["1 + 1", "const o = { a: 1, b: [2, 3] }; o.a ? o.b : null", "x?.y ?? z"]) {
      expect(readsAlikeAsJavaScript(code), code).toBe(true);
    }
    const cell = prepareCell("const n = 41\nn + 1");
    expect(cell.declared).toContain("n");
  });

  it("still strips a cell that is TypeScript and reports its errors where they are", () => {
    expect(prepareCell("let x: number = 1; x").source).not.toContain("number");
    expect(() => prepareCell("let x: number = ;")).toThrow(/SyntaxError|Expression expected/);
  });

  it("never lets through JavaScript the stripper would change: keyword-before-line-break forms", () => {
    const unsafe = WORDS.flatMap(shapes).filter((code) => !skipIsSafe(code));
    expect(unsafe).toEqual([]);
  });

  it("never lets through JavaScript the stripper would change: the JavaScript in node_modules", () => {
    const files: string[] = [];
    for (const pkg of ["acorn", "acorn-walk", "@msgpack/msgpack", "zod", "commander"]) {
      collect(join(import.meta.dirname, "../../node_modules", pkg), files);
    }
    const checked = files
      .map((file) => readFileSync(file, "utf8"))
      .filter((code) => code.length < 400_000 && parsesAsJavaScript(code));
    expect(checked.filter(readsAlikeAsJavaScript).length).toBeGreaterThan(20);
    const changed = checked.filter((code) => !skipIsSafe(code));
    expect(changed).toEqual([]);
  });
});

function collect(directory: string, into: string[]): void {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) collect(path, into);
    else if (/\.c?js$/.test(entry.name)) into.push(path);
  }
}
