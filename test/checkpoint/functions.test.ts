import { describe, expect, it } from "vitest";
import { encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

async function roundTrip(code: string) {
  const source = namespaceOf(code);
  const encoded = encodeNamespace(source.entries);
  expect(encoded.uncaptured).toEqual([]);
  return await restoreInto(encoded.data);
}

describe("checkpoint round trip of functions and classes", () => {
  it("re-creates every kind of function, callable in the new context", async () => {
    const r = await roundTrip(`
      function add(a, b = 1) { return a + b; }
      var arrow = (x) => x * 2;
      async function later(x) { return x + 1; }
      function* count(n) { for (let i = 0; i < n; i++) yield i; }
      async function* stream() { yield "a"; yield "b"; }
      var methods = { greet(name) { return "hi " + name; }, async load() { return 1; }, *gen() { yield 9; } };
    `);
    expect(r.run("add(2) + add(2, 3)")).toBe(8);
    expect(r.run("arrow(21)")).toBe(42);
    expect(await (r.run("later(1)") as Promise<number>)).toBe(2);
    expect(r.run("[...count(3)].join()")).toBe("0,1,2");
    expect(
      await (r.run(
        "(async () => { const out = []; for await (const x of stream()) out.push(x); return out.join(); })()",
      ) as Promise<string>),
    ).toBe("a,b");
    expect(r.run("methods.greet('bo')")).toBe("hi bo");
    expect(r.run("[...methods.gen()][0]")).toBe(9);
  });

  it("resolves other top-level names at call time and keeps attached properties", async () => {
    const r = await roundTrip(`
      var rate = 3;
      function price(n) { return n * rate + Math.max(0, bonus()); }
      function bonus() { return 1; }
      function memo(n) { if (!memo.cache.has(n)) memo.cache.set(n, n * n); return memo.cache.get(n); }
      memo.cache = new Map([[2, 4]]);
      memo.calls = 7;
    `);
    expect(r.run("price(2)")).toBe(7);
    expect(r.run("rate = 10; price(2)")).toBe(21);
    expect(r.run("memo.cache instanceof Map && memo.cache.get(2)")).toBe(4);
    expect(r.run("memo(3)")).toBe(9);
    expect(r.run("memo.calls")).toBe(7);
  });

  it("re-creates classes, subclasses, static fields and instances linked to the restored class", async () => {
    const r = await roundTrip(`
      var Shape = class Shape {
        static count = 0;
        static create(n) { Shape.count++; return new Square(n); }
        constructor(name) { this.name = name; }
        describe() { return this.name + " of area " + this.area(); }
      };
      var Square = class Square extends Shape {
        constructor(side) { super("square"); this.side = side; }
        area() { return this.side ** 2; }
      };
      var sq = Square.create(3);
      var again = sq;
      class NotGlobal {} // a script-level class declaration is not a global property
      var HttpError = class HttpError extends Error {
        constructor(status) { super("http " + status); this.status = status; }
      };
      var failure = new HttpError(404);
      function Legacy(v) { this.v = v; }
      Legacy.prototype.twice = function () { return this.v * 2; };
      var legacy = new Legacy(21);
    `);
    expect(r.run("sq instanceof Square && sq instanceof Shape && sq === again")).toBe(true);
    expect(r.run("Object.getPrototypeOf(sq) === Square.prototype")).toBe(true);
    expect(r.run("sq.describe()")).toBe("square of area 9");
    expect(r.run("Shape.count")).toBe(1);
    expect(r.run("Shape.create(2).area() + Shape.count")).toBe(6);
    expect(r.run("Object.getPrototypeOf(Square) === Shape")).toBe(true);
    expect(
      r.run("failure instanceof HttpError && failure instanceof Error && failure.status"),
    ).toBe(404);
    expect(r.run("failure.message")).toBe("http 404");
    expect(r.run("legacy instanceof Legacy && legacy.twice()")).toBe(42);
  });

  it("re-links subclasses of builtins and objects made with Object.create", async () => {
    const r = await roundTrip(`
      var List = class List extends Array { sum() { return this.reduce((a, b) => a + b, 0); } };
      var list = List.from([1, 2, 3]);
      var Registry = class Registry extends Map { names() { return [...this.keys()]; } };
      var registry = new Registry([["a", 1]]);
      var base = { hello() { return "hi " + this.n; } };
      var derived = Object.create(base); derived.n = 5;
      var Tagged = class Tagged { static { Tagged.ready = true; } ["comp" + "uted"]() { return 1; } };
    `);
    expect(r.run("list instanceof List && Array.isArray(list) && list.sum()")).toBe(6);
    expect(r.run("registry instanceof Registry && registry.names().join()")).toBe("a");
    expect(r.run("Object.getPrototypeOf(derived) === base && derived.hello()")).toBe("hi 5");
    expect(r.run("Tagged.ready && new Tagged().computed()")).toBe(1);
  });

  it("restores builtin constructors and namespace objects stored as values", async () => {
    const source = namespaceOf(`var M = Map; var maths = Math; var parse = parseInt;`);
    const host: Array<[string, unknown]> = [
      ["timer", setTimeout],
      ["out", console],
    ];
    const encoded = encodeNamespace([...source.entries, ...host]);
    expect(encoded.uncaptured).toEqual([]);
    const r = await restoreInto(encoded.data);
    expect(r.run("M === Map && maths === Math && parse('7') === 7")).toBe(true);
    // Host globals travel by name and resolve to whatever the target context provides.
    expect(r.values.get("out")).toBe(r.run("console"));
    expect(r.failed).toEqual([{ name: "timer", reason: "the target context has no setTimeout" }]);
  });
});
