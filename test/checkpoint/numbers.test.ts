/**
 * Arrays of numbers as doubles (`NodeKind.numbers`, written by `src/checkpoint/plain-trees.ts`
 * and `node-builders.ts`, restored by `realm.ts`): the bulk path is taken only for an
 * ordinary, dense array holding numbers and nothing else; everything else still falls
 * back (to JSON or node by node), identity holds, the array is born in the target realm,
 * and no user code runs. Version 3 checkpoints (before this node kind) still restore.
 */
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { sealCheckpoint } from "../../src/checkpoint/format.ts";
import { CHECKPOINT_VERSION, encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

function payloadOf(data: Uint8Array): { nodes: unknown[][] } {
  return decode(data.subarray(10)) as { nodes: unknown[][] };
}

function kindsOf(data: Uint8Array): string[] {
  return payloadOf(data).nodes.map((node) => node[0] as string);
}

describe("arrays of numbers as doubles", () => {
  it("writes a long array of numbers as one N node, keeping -0, NaN, ±Infinity and doubles exactly", async () => {
    const source = namespaceOf(`
      var values = Array.from({ length: 1000 }, (_, i) => i * 1.25 - 3);
      values[1] = -0; values[2] = NaN; values[3] = Infinity; values[4] = -Infinity;
      values[5] = Number.MIN_VALUE; values[6] = 0.1 + 0.2; values[7] = 2 ** 53 + 2;
    `);
    const encoded = encodeNamespace(source.entries);
    expect(kindsOf(encoded.data)).toEqual(["N"]);
    expect(CHECKPOINT_VERSION).toBe(4);
    const r = (await restoreInto(encoded.data)).run;
    expect(r("Array.isArray(values) && Object.getPrototypeOf(values) === Array.prototype")).toBe(
      true,
    );
    expect(r("values.length")).toBe(1000);
    expect(r("Object.is(values[1], -0) && Number.isNaN(values[2])")).toBe(true);
    expect(r("values[3] === Infinity && values[4] === -Infinity")).toBe(true);
    expect(r("values[5] === Number.MIN_VALUE && values[6] === 0.1 + 0.2")).toBe(true);
    expect(r("values[7] === 2 ** 53 + 2 && values[999] === 999 * 1.25 - 3")).toBe(true);
    // An ordinary array of the target: writable, growable, its own keys only indices and length.
    expect(r("values.push(1); values.length")).toBe(1001);
    expect(r("Object.getOwnPropertyNames(values).length")).toBe(1002);
    expect(r("Object.getOwnPropertyDescriptor(values, 0).writable")).toBe(true);
  });

  it("keeps identity: two names for one array, and a record holding it, share one array", async () => {
    const source = namespaceOf(`
      var a = Array.from({ length: 100 }, (_, i) => i);
      var b = a;
      var holder = { list: a, label: "h" };
    `);
    const encoded = encodeNamespace(source.entries);
    expect(kindsOf(encoded.data)).toContain("N");
    const r = (await restoreInto(encoded.data)).run;
    expect(r("a === b && holder.list === a && a[99] === 99 && holder.label")).toBe("h");
  });

  it("falls back for every array that is not plain numbers, and runs no user code", async () => {
    const source = namespaceOf(`
      var calls = 0;
      const long = () => Array.from({ length: 200 }, (_, i) => i);
      var short = Array.from({ length: 63 }, (_, i) => i);
      var mixed = long(); mixed[10] = "ten";
      var boxed = long(); boxed[10] = new Number(10);
      var named = Object.assign(long(), { unit: "ms" });
      var keyed = long(); keyed[Symbol.for("k")] = 1;
      var holey = long(); delete holey[150];
      var readOnly = long(); Object.defineProperty(readOnly, 3, { value: 3, writable: false });
      var getter = long();
      Object.defineProperty(getter, 5, { get() { calls++; return 5; }, enumerable: true, configurable: true });
      var Series = class Series extends Array {};
      var series = Series.from(long());
      var foreignProto = long(); Object.setPrototypeOf(foreignProto, { custom: true });
      var nested = { inner: long() };
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    expect(source.run("calls")).toBe(0);
    expect(kindsOf(encoded.data)).not.toContain("N");
    const r = (await restoreInto(encoded.data)).run;
    expect(r("short.length === 63 && short[62] === 62")).toBe(true);
    expect(r("mixed[10] === 'ten' && mixed[199] === 199")).toBe(true);
    expect(r("boxed[10] instanceof Number && boxed[10] + 1")).toBe(11);
    expect(r("named.unit === 'ms' && named.length === 200")).toBe(true);
    expect(r("keyed[Symbol.for('k')] === 1 && keyed[0] === 0")).toBe(true);
    expect(r("holey.length === 200 && !(150 in holey) && holey[149] === 149")).toBe(true);
    expect(r("Object.getOwnPropertyDescriptor(readOnly, 3).writable")).toBe(false);
    expect(r("typeof Object.getOwnPropertyDescriptor(getter, 5).get")).toBe("function");
    expect(r("series instanceof Series && series instanceof Array && series[199] === 199")).toBe(
      true,
    );
    expect(r("Object.getPrototypeOf(foreignProto).custom && foreignProto[7] === 7")).toBe(true);
    expect(r("nested.inner.length === 200 && nested.inner[199] === 199")).toBe(true);
    expect(r("calls")).toBe(0);
  });

  it("restores a version 3 checkpoint (no N nodes) and refuses malformed N nodes", async () => {
    const source = namespaceOf(`var rows = [{ id: 1 }, { id: 2 }]; var few = [1, 2, 3];`);
    const body = payloadOf(encodeNamespace(source.entries).data);
    const v3 = sealCheckpoint(encode(body, { ignoreUndefined: false }), 3);
    const r = (await restoreInto(v3)).run;
    expect(r("rows[1].id + few[2]")).toBe(5);

    const odd = sealCheckpoint(
      encode({
        kind: "full",
        names: ["x", [0, 0]],
        nodes: [["N", new Uint8Array(7)]],
        removed: [],
        uncaptured: [],
      }),
    );
    await expect(restoreInto(odd)).rejects.toMatchObject({ code: "CHECKPOINT_INVALID" });
  });
});
