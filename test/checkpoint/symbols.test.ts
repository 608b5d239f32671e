import { describe, expect, it } from "vitest";
import { applyCheckpoints } from "../../src/checkpoint/incremental.ts";
import { encodeNamespace, NamespaceCheckpointer } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

describe("checkpoint: symbols keep their identity", () => {
  it("restores one unique symbol wherever it appears: as a value, a key, in collections", async () => {
    const source = namespaceOf(`
      var id = Symbol("id");
      var anonymous = Symbol();
      var record = { [id]: 7, name: "r", tag: id };
      var index = new Map([[id, "by symbol"]]);
      var seen = new Set([id, anonymous]);
      var alias = { same: id };
      function keyed() { return record[id]; }
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    const r = await restoreInto(encoded.data);
    expect(
      r.run(`[
        typeof id, id.description, anonymous.description,
        record[id], record.tag === id, index.get(id), seen.has(id), seen.has(anonymous),
        alias.same === id, keyed(), Object.getOwnPropertySymbols(record)[0] === id,
        id === Symbol("id"), id !== anonymous,
      ]`),
    ).toEqual([
      "symbol",
      "id",
      undefined,
      7,
      true,
      "by symbol",
      true,
      true,
      true,
      7,
      true,
      false,
      true,
    ]);
  });

  it("maps registered symbols back to the registry and well-known ones to the builtins", async () => {
    const source = namespaceOf(`
      var registered = Symbol.for("app.key");
      var iterable = { *[Symbol.iterator]() { yield 1; yield 2; }, [Symbol.for("app.key")]: "reg" };
    `);
    const r = await restoreInto(encodeNamespace(source.entries).data);
    expect(
      r.run(`[
        registered === Symbol.for("app.key"), Symbol.keyFor(registered),
        [...iterable], iterable[Symbol.for("app.key")],
      ]`),
    ).toEqual([true, "app.key", [1, 2], "reg"]);
  });

  it("keeps a symbol shared by two names whole across incremental checkpoints", async () => {
    const source = namespaceOf(`
      var key = Symbol("k");
      var first = { [key]: 1 };
      var second = { [key]: 2 };
    `);
    const entries = () =>
      source.entries.map(([name]) => [name, source.run(name)] as [string, unknown]);
    const checkpointer = new NamespaceCheckpointer();
    const full = checkpointer.full(entries());
    source.run("second[key] = 3");
    // Only `second` changed, but it shares `key` with the other names: they come along.
    const increment = checkpointer.incremental(entries(), ["second"], []);
    expect(increment.widenedBy.sort()).toEqual(["first", "key"]);
    const { context } = namespaceOf("");
    const { values } = await applyCheckpoints([full.data, increment.data], context);
    const key = values.get("key") as symbol;
    expect((values.get("first") as Record<symbol, number>)[key]).toBe(1);
    expect((values.get("second") as Record<symbol, number>)[key]).toBe(3);
  });
});
