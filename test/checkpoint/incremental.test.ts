import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { applyCheckpoints, NamespaceCheckpointer } from "../../src/checkpoint/index.ts";
import { CheckpointError } from "../../src/errors.ts";
import { namespaceOf } from "./helpers.ts";

/** A namespace whose entries are re-read after every cell, like the worker does. */
function session(code: string) {
  const ns = namespaceOf(code);
  const global = ns.run("globalThis") as Record<string, unknown>;
  const initial = new Set(ns.entries.map(([name]) => name));
  const builtins = new Set(Object.getOwnPropertyNames(vm.runInNewContext("globalThis")));
  const entries = () =>
    Object.getOwnPropertyNames(global)
      .filter((name) => initial.has(name) || !builtins.has(name))
      .map((name): [string, unknown] => [name, global[name]]);
  return { run: ns.run, entries };
}

async function restoreChain(chain: Uint8Array[]) {
  const context = vm.createContext();
  const { values, failed } = await applyCheckpoints(chain, context);
  for (const [name, value] of values) (context as Record<string, unknown>)[name] = value;
  return { values, failed, run: (code: string) => vm.runInContext(code, context) };
}

describe("incremental checkpoints", () => {
  it("restores a full checkpoint plus increments in order; later names win, removed go", async () => {
    const s = session("var a = 1; var b = [1]; globalThis.c = 'keep';");
    const checkpointer = new NamespaceCheckpointer();
    const chain = [checkpointer.full(s.entries()).data];

    s.run("a = 2; b.push(2); var d = { made: 'later' };");
    const first = checkpointer.incremental(s.entries(), ["a", "b", "d"], []);
    expect(first.incremental).toBe(true);
    expect(first.names).toEqual(["a", "b", "d"]);
    chain.push(first.data);

    s.run("a = 3; delete globalThis.c;");
    const second = checkpointer.incremental(s.entries(), ["a"], ["c"]);
    expect(second.names).toEqual(["a"]);
    expect(second.removed).toEqual(["c"]);
    chain.push(second.data);

    const restored = await restoreChain(chain);
    expect(restored.run("a")).toBe(3);
    expect(restored.run("b.join()")).toBe("1,2");
    expect(restored.run("d.made")).toBe("later");
    expect(restored.values.has("c")).toBe(false);
  });

  it("pulls unchanged names that share an object into the increment (identity rule)", async () => {
    const s = session("var shared = { hits: 0 }; var holder = { shared }; var other = 5;");
    const checkpointer = new NamespaceCheckpointer();
    const chain = [checkpointer.full(s.entries()).data];

    // Only `holder` is reported changed, but it still reaches `shared`'s object.
    s.run("holder.extra = true; shared.hits = 1;");
    const increment = checkpointer.incremental(s.entries(), ["holder"], []);
    expect(increment.names.sort()).toEqual(["holder", "shared"]);
    expect(increment.widenedBy).toEqual(["shared"]);
    chain.push(increment.data);

    const restored = await restoreChain(chain);
    expect(restored.run("holder.shared === shared && shared.hits === 1 && holder.extra")).toBe(
      true,
    );
    expect(restored.run("other")).toBe(5);
  });

  it("widens through groups from earlier encodes, not only the first owner", async () => {
    const s = session("var A = { v: 1 }; var B = A; var C = 0;");
    const checkpointer = new NamespaceCheckpointer();
    const chain = [checkpointer.full(s.entries()).data];
    // A moves away from the object; B still holds it.
    s.run("A = { v: 2 };");
    chain.push(checkpointer.incremental(s.entries(), ["A"], []).data);
    // C now reaches the object first owned by A, which B also reaches.
    s.run("C = { ref: B };");
    const increment = checkpointer.incremental(s.entries(), ["C"], []);
    expect(increment.names).toContain("B");
    chain.push(increment.data);

    const restored = await restoreChain(chain);
    expect(restored.run("C.ref === B && A.v === 2 && B.v === 1")).toBe(true);
  });

  it("keeps a class and its instances together when only the instance changed", async () => {
    const s = session("var Point = class Point { norm() { return Math.hypot(this.x, this.y); } };");
    const checkpointer = new NamespaceCheckpointer();
    const chain = [checkpointer.full(s.entries()).data];
    s.run("var p = new Point(); p.x = 3; p.y = 4;");
    const increment = checkpointer.incremental(s.entries(), ["p"], []);
    expect(increment.names.sort()).toEqual(["Point", "p"]);
    chain.push(increment.data);
    const restored = await restoreChain(chain);
    expect(restored.run("p instanceof Point && p.norm()")).toBe(5);
  });

  it("clears an earlier failure when a later checkpoint captures the name", async () => {
    const s = session("var x = new WeakMap();");
    const checkpointer = new NamespaceCheckpointer();
    const full = checkpointer.full(s.entries());
    expect(full.uncaptured.map((u) => u.name)).toEqual(["x"]);
    s.run("x = 1;");
    const chain = [full.data, checkpointer.incremental(s.entries(), ["x"], []).data];
    const restored = await restoreChain(chain);
    expect(restored.failed).toEqual([]);
    expect(restored.run("x")).toBe(1);
  });

  it("retries uncaptured names, so a forward reference resolves once its target exists", async () => {
    const s = session("function total() { return base() + 1; }");
    const checkpointer = new NamespaceCheckpointer();
    const full = checkpointer.full(s.entries());
    expect(full.uncaptured).toEqual([
      { name: "total", reason: 'closes over local variable "base"' },
    ]);
    s.run("function base() { return 41; }");
    const increment = checkpointer.incremental(s.entries(), ["base"], []);
    expect(increment.names.sort()).toEqual(["base", "total"]);
    const restored = await restoreChain([full.data, increment.data]);
    expect(restored.run("total()")).toBe(42);
  });

  it("rejects chains that do not start with exactly one full checkpoint", async () => {
    const s = session("var a = 1;");
    const checkpointer = new NamespaceCheckpointer();
    expect(() => checkpointer.incremental(s.entries(), ["a"], [])).toThrow(CheckpointError);
    const full = checkpointer.full(s.entries()).data;
    const increment = checkpointer.incremental(s.entries(), ["a"], []).data;
    for (const chain of [[increment], [full, full]]) {
      await expect(applyCheckpoints(chain, vm.createContext())).rejects.toMatchObject({
        code: "CHECKPOINT_INVALID",
      });
    }
  });
});
