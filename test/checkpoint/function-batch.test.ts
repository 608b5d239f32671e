/**
 * Functions without a captured scope are compiled as one batch on restore
 * (`src/checkpoint/function-batch.ts`). One bad source must not take the others down,
 * and a source that escapes its slot in the batch must not shift the others.
 */
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { sealCheckpoint } from "../../src/checkpoint/format.ts";
import { encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

/** A checkpoint of top-level functions given by source, as a worker would write them. */
function functionsCheckpoint(sources: Record<string, string>): Uint8Array {
  const names: unknown[] = [];
  const nodes: unknown[][] = [];
  for (const [name, source] of Object.entries(sources)) {
    names.push(name, [0, nodes.length]);
    nodes.push(["F", "expression", source, null, [], [], null, 0, null]);
  }
  return sealCheckpoint(encode({ kind: "full", names, nodes, removed: [], uncaptured: [] }));
}

describe("restoring functions in one batch", () => {
  it("restores many functions, classes and methods, each its own object", async () => {
    const source = namespaceOf(`
      ${Array.from({ length: 50 }, (_, i) => `function f${i}(x) { return x + ${i}; }`).join("\n")}
      var Base = class Base { hi() { return "base"; } };
      var Derived = class Derived extends Base { hi() { return "derived:" + super.hi(); } };
      var obj = { method() { return 7; }, get value() { return 8; } };
      var arrow = (a) => a * 3;
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    const restored = await restoreInto(encoded.data);
    expect(restored.failed).toEqual([]);
    expect(restored.run("f0(1) + f49(1)")).toBe(51);
    expect(restored.run("f1 !== f2 && f3.name")).toBe("f3");
    expect(restored.run("new Derived().hi()")).toBe("derived:base");
    expect(restored.run("new Derived() instanceof Base")).toBe(true);
    expect(restored.run("obj.method() + obj.value + arrow(2)")).toBe(21);
  });

  it("fails only the function whose source does not compile or whose class throws", async () => {
    const restored = await restoreInto(
      functionsCheckpoint({
        a: "function a() { return 1; }",
        broken: "function broken( {",
        throwing: "class Throwing { static { throw new Error('static boom'); } }",
        d: "function d() { return 4; }",
      }),
    );
    expect(restored.run("a() + d()")).toBe(5);
    const failed = new Map(restored.failed.map((entry) => [entry.name, entry.reason]));
    expect([...failed.keys()].sort()).toEqual(["broken", "throwing"]);
    expect(failed.get("broken")).toMatch(/could not re-create function/);
    expect(failed.get("throwing")).toMatch(/static boom/);
  });

  it("keeps every name on its own function when a source escapes its slot in the batch", async () => {
    const restored = await restoreInto(
      functionsCheckpoint({
        a: "function a() { return 1; }",
        sneaky: "function s() { return 2; }\n), (() => 99",
        d: "function d() { return 4; }",
      }),
    );
    // The batch would hold four makers for three names: it is refused, and each source is
    // evaluated on its own, so `d` is still `d`.
    expect(restored.run("a()")).toBe(1);
    expect(restored.run("d()")).toBe(4);
    expect(restored.run("d.name")).toBe("d");
  });
});
